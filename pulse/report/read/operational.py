"""Reading what BI may not see: the dead-letter summary and the events stored (raw).

They come through a second, read-only connection acting as pulse_transform when the login may,
else as the login itself. It may not stop the report: what cannot be read is said on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import Connection, OperationalError, sql
from psycopg.errors import InsufficientPrivilege

from pulse.report.data import DeadLetterReason
from pulse.report.read.query import scalar
from pulse.warehouse.connect import connect, current_role
from pulse.warehouse.names import BI_ROLE, RAW_SCHEMA, TRANSFORM_ROLE

# raw is the transform role's to read; BI may not.
OPS_ROLE = TRANSFORM_ROLE
DEAD_LETTERS = (RAW_SCHEMA, "dead_letter_events")
EVENTS = (RAW_SCHEMA, "community_events")


@dataclass
class OperationalData:
    """What was read of raw, and where it came from (or why not)."""

    dead_letters: list[DeadLetterReason] | None = None
    events_stored: int | None = None
    dead_letters_source: str = ""


def read_operational(dsn: str) -> OperationalData:
    """Dead letters and the events stored (raw): never readable by pulse_bi.

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
        return ops
    with conn:
        role = current_role(conn)
        ops.dead_letters, ops.events_stored, ops.dead_letters_source = _dead_letters(conn, role)
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
