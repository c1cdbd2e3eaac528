"""Publish a validated build's incidents to `community.incidents.v1`: each lifecycle event once.

The rule is not here: it is the mart `fct_alert_incidents` (dbt; stated once in
dbt_project/models/marts/incidents/_incidents__models.yml), read from the run's own build
schema, so what a run publishes is what its marts gate validated. This module turns the mart's
rows into messages (pure functions, `incident_messages`, `withdrawn_messages`) and sends those
not sent before (`publish_incidents`).

Delivery:
- Each incident row implies up to three events: `opened` (at opened_at; severity warning when
  it escalated later, else the incident's), `escalated` (at escalated_at, critical) and
  `resolved` (at resolved_at). `message_id` = UUIDv5(`INCIDENTS_NAMESPACE`,
  "<incident_id>\\x1f<event>"), and incident_id is itself derived from what the incident is
  (community, type, idea, opening day), never from the run: a retried or re-run interval finds
  the same ids.
- Every message id sent is recorded in `quality.published_incident_events` after the broker
  acknowledged it, under the publishing lock; an id found there is not sent again. A crash in
  between can send a message twice, never lose it: consumers deduplicate on `message_id`.
- An incident recorded as opened, not yet resolved, and absent from the build (late events or
  an erasure moved or removed what opened it) is resolved with `resolution = withdrawn`, so no
  consumer keeps an incident open that the data no longer has.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from pulse.errors import PulseError
from pulse.publishing.publish import _close, _producer, _send
from pulse.warehouse.locks import lock_in_transaction
from pulse.warehouse.names import PUBLISH_INCIDENTS_LOCK
from streaming.incidents import INCIDENT_EVENTS, IncidentEvent

logger = logging.getLogger(__name__)

INCIDENTS_MART = "fct_alert_incidents"
PUBLISHED_TABLE = "quality.published_incident_events"
# uuid5 namespace of message ids: changing it would re-send every event, so it never changes.
INCIDENTS_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://community-pulse/incidents/v1")

# The mart's columns a message carries (fct_alert_incidents).
INCIDENT_COLUMNS = (
    "incident_id",
    "community_id",
    "brand_id",
    "idea_id",
    "alert_type",
    "status",
    "severity",
    "resolution",
    "metric",
    "observed",
    "baseline",
    "days_held",
    "opened_at",
    "escalated_at",
    "last_seen_at",
    "resolved_at",
)
_METRIC_WORDS = {
    "negative_share": ("negative share of posts and comments", "share"),
    "brand_post_share": ("brand share of posts", "share"),
    "engagements_per_post": ("engagements per post", "rate"),
    "quiet_core_share": ("share of core members gone quiet", "share"),
    "hours_unanswered": ("hours without a response", "hours"),
}


def message_id(incident_id: uuid.UUID | str, event: str) -> uuid.UUID:
    """The id of the message announcing `event` of incident `incident_id`."""
    if event not in INCIDENT_EVENTS:
        raise ValueError(f"unknown incident event {event!r}")
    return uuid.uuid5(INCIDENTS_NAMESPACE, f"{incident_id}\x1f{event}")


@dataclass(frozen=True)
class Interval:
    """What every message of one publish carries about the run."""

    run_id: str
    start: datetime
    end: datetime


def _figure(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    kind = _METRIC_WORDS.get(metric, (metric, "rate"))[1]
    if kind == "share":
        return f"{value:.0%}"
    if kind == "hours":
        return f"{value / 24:.1f} days"
    return f"{value:.2f}"


def summary(row: dict[str, Any], event: str) -> str:
    """One line for humans about `event` of the incident `row` (a mart row)."""
    words = _METRIC_WORDS.get(row["metric"], (row["metric"], "rate"))[0]
    where = row["community_id"]
    if row["alert_type"] == "idea_unanswered":
        what = f"idea {row['idea_id']} in {where} has had no response for " + _figure(
            "hours_unanswered", row["observed"]
        )
    else:
        what = (
            f"{row['alert_type']} in {where}: {words} {_figure(row['metric'], row['observed'])}"
            f" against its usual {_figure(row['metric'], row['baseline'])}"
        )
    opened = row["opened_at"].date().isoformat()
    if event == "opened":
        return f"opened {opened}: {what}"
    if event == "escalated":
        return f"critical since {row['escalated_at'].date().isoformat()}: {what}"
    return f"resolved after {row['days_held']} day(s) (opened {opened}): {what}"


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def lifecycle(row: dict[str, Any]) -> list[tuple[str, datetime, str]]:
    """The events a mart row implies: (event, when, severity at the event), in order."""
    escalated = row["escalated_at"]
    events = [("opened", row["opened_at"], "warning" if escalated else row["severity"])]
    if escalated is not None:
        events.append(("escalated", escalated, "critical"))
    if row["resolved_at"] is not None:
        events.append(("resolved", row["resolved_at"], row["severity"]))
    return events


def incident_messages(rows: Iterable[dict[str, Any]], interval: Interval) -> list[IncidentEvent]:
    """Every lifecycle message the mart's rows imply, in the order they happened.

    Args:
        rows: fct_alert_incidents rows (columns `INCIDENT_COLUMNS`).
        interval: the run publishing.

    Returns:
        The messages, by event time (then opened < escalated < resolved, community, incident).
    """
    messages = []
    for raw in rows:
        row = {key: _plain(value) for key, value in raw.items()}
        for event, event_at, severity in lifecycle(row):
            messages.append(
                IncidentEvent(
                    message_id=message_id(row["incident_id"], event),
                    event=event,  # type: ignore[arg-type]
                    event_at=event_at,
                    incident_id=row["incident_id"],
                    alert_type=row["alert_type"],
                    severity=severity,  # type: ignore[arg-type]
                    community_id=row["community_id"],
                    brand_id=row["brand_id"],
                    idea_id=row["idea_id"],
                    metric=row["metric"],
                    observed=row["observed"],
                    baseline=row["baseline"],
                    days_held=row["days_held"],
                    opened_at=row["opened_at"],
                    escalated_at=row["escalated_at"],
                    last_seen_at=row["last_seen_at"],
                    resolved_at=row["resolved_at"],
                    resolution=row["resolution"] if event == "resolved" else None,
                    summary=summary(row, event),
                    run_id=interval.run_id,
                    data_interval_start=interval.start,
                    data_interval_end=interval.end,
                )
            )
    return _ordered(messages)


def _ordered(messages: list[IncidentEvent]) -> list[IncidentEvent]:
    order = {name: position for position, name in enumerate(INCIDENT_EVENTS)}
    return sorted(
        messages,
        key=lambda m: (m.event_at, order[m.event], m.community_id, str(m.incident_id)),
    )


def withdrawn_messages(
    recorded_open: Iterable[dict[str, Any]], present: set[str], interval: Interval
) -> list[IncidentEvent]:
    """`resolved` (withdrawn) for incidents a consumer was told are open that the build lacks.

    Args:
        recorded_open: what `quality.published_incident_events` holds about incidents opened
            and never resolved (incident_id, alert_type, community_id, brand_id, idea_id,
            severity, metric, opened_at).
        present: the build's incident ids.
        interval: the run publishing (its end is when the withdrawal is known).
    """
    messages = []
    for row in recorded_open:
        if str(row["incident_id"]) in present:
            continue
        messages.append(
            IncidentEvent(
                message_id=message_id(row["incident_id"], "resolved"),
                event="resolved",
                event_at=interval.end,
                incident_id=row["incident_id"],
                alert_type=row["alert_type"],
                severity=row["severity"],
                community_id=row["community_id"],
                brand_id=row["brand_id"],
                idea_id=row["idea_id"],
                metric=row["metric"],
                observed=None,
                baseline=None,
                days_held=0,
                opened_at=row["opened_at"],
                escalated_at=None,
                last_seen_at=row["opened_at"],
                resolved_at=interval.end,
                resolution="withdrawn",
                summary=(
                    f"withdrawn: the data no longer shows the {row['alert_type']} incident in "
                    f"{row['community_id']} opened {row['opened_at'].date().isoformat()}"
                ),
                run_id=interval.run_id,
                data_interval_start=interval.start,
                data_interval_end=interval.end,
            )
        )
    return _ordered(messages)


# -- reading and sending ------------------------------------------------------------------------


@dataclass
class IncidentsReport:
    """What one publish of incidents did."""

    run_id: str
    incidents: int = 0
    open_incidents: int = 0
    messages_found: int = 0
    messages_published: int = 0
    messages_already_published: int = 0
    withdrawn: int = 0
    by_event: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "incidents": self.incidents,
            "open_incidents": self.open_incidents,
            "messages_found": self.messages_found,
            "messages_published": self.messages_published,
            "messages_already_published": self.messages_already_published,
            "withdrawn": self.withdrawn,
            "by_event": self.by_event,
            "seconds": round(self.seconds, 3),
        }


def read_incidents(conn: psycopg.Connection, build_schema: str) -> list[dict[str, Any]]:
    """The build's fct_alert_incidents rows (the columns messages carry)."""
    query = sql.SQL("select {columns} from {mart} order by opened_at, incident_id").format(
        columns=sql.SQL(", ").join(map(sql.Identifier, INCIDENT_COLUMNS)),
        mart=sql.Identifier(build_schema, INCIDENTS_MART),
    )
    with conn.cursor(row_factory=dict_row) as cursor:
        return list(cursor.execute(query).fetchall())


def _recorded_open(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Incidents sent as opened and never resolved, with their latest severity."""
    query = (
        "select opened.incident_id, opened.alert_type, opened.community_id, opened.brand_id, "
        "opened.idea_id, opened.metric, opened.opened_at, "
        "case when bool_or(later.severity = 'critical') then 'critical' else 'warning' end "
        "as severity "
        f"from {PUBLISHED_TABLE} as opened "
        f"left join {PUBLISHED_TABLE} as later on later.incident_id = opened.incident_id "
        "where opened.event = 'opened' and not exists ("
        f"select 1 from {PUBLISHED_TABLE} as resolved "
        "where resolved.incident_id = opened.incident_id and resolved.event = 'resolved') "
        "group by opened.incident_id, opened.alert_type, opened.community_id, opened.brand_id, "
        "opened.idea_id, opened.metric, opened.opened_at"
    )
    with conn.cursor(row_factory=dict_row) as cursor:
        return list(cursor.execute(query).fetchall())


def _check_table(conn: psycopg.Connection) -> None:
    row = conn.execute("select to_regclass(%s)", [PUBLISHED_TABLE]).fetchone()
    if row is None or row[0] is None:
        raise PulseError(f"{PUBLISHED_TABLE} is missing: run `pulse db init` once after upgrading")


def _record(conn: psycopg.Connection, messages: Sequence[IncidentEvent], run_id: str) -> None:
    with conn.cursor() as cursor:
        cursor.executemany(
            f"insert into {PUBLISHED_TABLE} (message_id, incident_id, event, alert_type, "
            "community_id, brand_id, idea_id, severity, metric, opened_at, run_id) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "on conflict (message_id) do nothing",
            [
                (
                    m.message_id,
                    m.incident_id,
                    m.event,
                    m.alert_type,
                    m.community_id,
                    m.brand_id,
                    m.idea_id,
                    m.severity,
                    m.metric,
                    m.opened_at,
                    run_id,
                )
                for m in messages
            ],
        )


def publish_incidents(
    dsn: str,
    bootstrap: str,
    *,
    run_id: str,
    build_schema: str,
    interval_start: datetime,
    interval_end: datetime,
    topic: str,
) -> IncidentsReport:
    """Send the lifecycle events of the build's incidents that were never sent.

    Args:
        dsn: warehouse connection string (reads the build, writes
            quality.published_incident_events).
        bootstrap: Kafka bootstrap servers.
        run_id: the pipeline run publishing.
        build_schema: the validated build the incidents come from.
        interval_start: start of the run's data interval (aware).
        interval_end: end of the data interval (exclusive, aware).
        topic: the community.incidents.v1 topic.

    Returns:
        What was found and sent.

    Raises:
        PublishError: the broker did not acknowledge every message; none of this call's
            messages is then recorded, so a retry sends them.
    """
    started = time.perf_counter()
    interval = Interval(run_id, interval_start, interval_end)
    report = IncidentsReport(run_id=run_id)
    producer = None
    try:
        with psycopg.connect(dsn) as conn:
            _check_table(conn)
            rows = read_incidents(conn, build_schema)
            report.incidents = len(rows)
            report.open_incidents = sum(1 for row in rows if row["status"] == "open")
            found = incident_messages(rows, interval)
            # One publisher at a time, so two runs cannot both find a message unsent.
            lock_in_transaction(conn, PUBLISH_INCIDENTS_LOCK)
            present = {str(row["incident_id"]) for row in rows}
            withdrawn = withdrawn_messages(_recorded_open(conn), present, interval)
            candidates = found + withdrawn
            sent_before = {
                str(row[0])
                for row in conn.execute(
                    f"select message_id from {PUBLISHED_TABLE} where message_id = any(%s)",
                    [[m.message_id for m in candidates]],
                )
            }
            new = [m for m in candidates if str(m.message_id) not in sent_before]
            if new:
                producer = _producer(bootstrap)
                _send(producer, topic, new, run_id)  # type: ignore[arg-type]
                _record(conn, new, run_id)
    finally:
        if producer is not None:
            _close(producer)
    report.messages_found = len(candidates)
    report.messages_published = len(new)
    report.messages_already_published = len(candidates) - len(new)
    report.withdrawn = sum(1 for m in new if m.resolution == "withdrawn")
    for message in new:
        report.by_event[message.event] = report.by_event.get(message.event, 0) + 1
    report.seconds = time.perf_counter() - started
    logger.info(
        "incidents: %d in the build (%d open), %d messages sent (%d sent before, %d withdrawn)",
        report.incidents,
        report.open_incidents,
        report.messages_published,
        report.messages_already_published,
        report.withdrawn,
    )
    return report
