"""Reading what BI may not see: the dead-letter summary (raw) and the alerts sent (quality).

Both come through a second, read-only connection acting as pulse_transform when the login may,
else as the login itself. Neither may stop the report: what cannot be read is said on the page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from psycopg import Connection, OperationalError, sql
from psycopg.errors import InsufficientPrivilege

from pulse.report.data import DAY_ALERT_TYPES, Alert, DeadLetterReason
from pulse.report.read.query import scalar
from pulse.warehouse.connect import connect, current_role
from pulse.warehouse.names import BI_ROLE, QUALITY_SCHEMA, RAW_SCHEMA, TRANSFORM_ROLE

logger = logging.getLogger(__name__)

# raw and quality are the transform role's to read; BI may read neither.
OPS_ROLE = TRANSFORM_ROLE
DEAD_LETTERS = (RAW_SCHEMA, "dead_letter_events")
EVENTS = (RAW_SCHEMA, "community_events")
PUBLISHED_ALERTS = (QUALITY_SCHEMA, "published_alerts")


@dataclass
class OperationalData:
    """What was read of raw and quality, and where each part came from (or why not)."""

    dead_letters: list[DeadLetterReason] | None = None
    events_stored: int | None = None
    dead_letters_source: str = ""
    alerts: list[Alert] | None = None
    alerts_source: str = ""


def read_operational(dsn: str) -> OperationalData:
    """Dead letters (raw) and published alerts (quality): never readable by pulse_bi.

    Args:
        dsn: warehouse connection string; the login acts as pulse_transform when it may.

    Returns:
        What could be read; a part that could not is None, and its source says why.
    """
    ops = OperationalData()
    try:
        conn = connect(dsn, role=OPS_ROLE, required=False, read_only=True, autocommit=True)
    except OperationalError as error:
        ops.dead_letters_source = f"not shown: no connection for the operational part ({error})"
        ops.alerts_source = "published alerts could not be read"
        return ops
    with conn:
        role = current_role(conn)
        ops.dead_letters, ops.events_stored, ops.dead_letters_source = _dead_letters(conn, role)
        ops.alerts, ops.alerts_source = published_alerts(conn, role)
    return ops


def _dead_letters(
    conn: Connection, role: str
) -> tuple[list[DeadLetterReason] | None, int | None, str]:
    """Dead letters per reason, the number of valid events stored, and the source line."""
    name = ".".join(DEAD_LETTERS)
    try:
        reasons = [
            DeadLetterReason(r[0], int(r[1]), r[2], r[3], int(r[4]))
            for r in conn.execute(
                sql.SQL(
                    "select reason, count(*), min(received_at), max(received_at), "
                    "count(replayed_at) from {} group by reason order by count(*) desc, reason"
                ).format(sql.Identifier(*DEAD_LETTERS))
            )
        ]
        events_stored = int(
            scalar(conn, sql.SQL("select count(*) from {}").format(sql.Identifier(*EVENTS)))
        )
    except InsufficientPrivilege:
        return (
            None,
            None,
            f"not shown: {name} is not readable as {role} "
            f"(it needs {OPS_ROLE}; {BI_ROLE} cannot read {RAW_SCHEMA})",
        )
    return (
        reasons,
        events_stored,
        f"{name}, read over a second, read-only connection acting as {role} "
        f"({BI_ROLE} cannot read {RAW_SCHEMA})",
    )


def published_alerts(conn: Connection, role: str) -> tuple[list[Alert] | None, str]:
    """The day alerts the publisher sent, from quality.published_alerts.

    Args:
        conn: a connection that may be able to read quality.
        role: the role it acts as (named in the source line).

    Returns:
        The alerts (None when the table is missing, not readable, or holds no day alert) and
        where they came from, or why there are none.
    """
    schema, table = PUBLISHED_ALERTS
    name = f"{schema}.{table}"
    try:
        if scalar(conn, "select to_regclass(%s)", [name]) is None:
            return None, f"{name} does not exist"
        rows = conn.execute(
            sql.SQL(
                "select community_id, subject, alert_type, severity from {} "
                "where alert_type = any(%s) order by subject, community_id"
            ).format(sql.Identifier(schema, table)),
            [list(DAY_ALERT_TYPES)],
        ).fetchall()
    except InsufficientPrivilege:
        return None, f"{name} is not readable as {role}"
    alerts = []
    for community_id, subject, alert_type, severity in rows:
        try:
            day = date.fromisoformat(subject)
        except ValueError:
            logger.warning("published alert with a subject that is no day: %r", subject)
            continue
        alerts.append(Alert(community_id, day, alert_type, severity))
    if not alerts:
        return None, f"{name} holds no day alert yet"
    return alerts, f"the alerts the publisher sent, read from {name} as {role}"
