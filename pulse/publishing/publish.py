"""Publish a validated build to the outbound topics (community.metrics.v1, community.alerts.v1).

Runs after the marts gate passed and the build was promoted. Figures are read from the run's own
build schema (not from the `marts` views, which a later run may already have moved on), so what a
run publishes is exactly what its gate validated.

Delivery:
- metrics: one message per community per UTC day the data interval touches, keyed by
  community_id; a retried or re-run interval sends identical messages (at-least-once; consumers
  keep the latest per community and day).
- alerts: `pulse.publishing.alerts.evaluate` on the build's figures; every alert id ever sent is
  recorded in `quality.published_alerts`, and an id found there is not sent again. The record is
  written after the broker acknowledged the messages, so a crash in between can send an alert twice,
  never lose it: consumers deduplicate on `alert_id`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from kafka import KafkaProducer
from kafka.errors import KafkaError
from psycopg import sql
from psycopg.rows import dict_row

from pulse.errors import PulseError
from pulse.publishing.alerts import (
    AlertThresholds,
    DayFigures,
    IdeaResponse,
    day_complete,
    evaluate,
    interval_days,
)
from pulse.warehouse.locks import lock_in_transaction
from pulse.warehouse.names import PUBLISH_ALERTS_LOCK
from streaming.outbound import CommunityAlert, CommunityDailyMetrics

logger = logging.getLogger(__name__)

DAILY_MART = "fct_community_daily"
IDEAS_MART = "fct_feedback_ideas"
MIB = 1024 * 1024

# fct_community_daily columns carried by a metrics message, in message order.
METRIC_FIGURES = (
    "members_total",
    "members_new",
    "members_left",
    "active_members",
    "wau",
    "mau",
    "stickiness",
    "posts",
    "comments",
    "reactions",
    "shares",
    "ugc_posts",
    "brand_posts",
    "brand_voice_share",
    "engagements",
    "engagements_per_post",
    "engagement_rate",
    "avg_sentiment",
    "negative_share",
    "median_first_response_minutes",
)


class PublishError(PulseError):
    """The broker did not take the outbound messages."""


@dataclass
class PublishReport:
    """What one publish sent."""

    run_id: str
    metrics: int = 0
    communities: int = 0
    days: list[str] = field(default_factory=list)
    alerts_found: int = 0
    alerts_published: int = 0
    alerts_already_published: int = 0
    alerts_by_type: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "metrics": self.metrics,
            "communities": self.communities,
            "days": self.days,
            "alerts_found": self.alerts_found,
            "alerts_published": self.alerts_published,
            "alerts_already_published": self.alerts_already_published,
            "alerts_by_type": self.alerts_by_type,
            "seconds": round(self.seconds, 3),
        }


# -- reading the build --------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def read_daily(
    conn: psycopg.Connection, build_schema: str, first_day: Any, last_day: Any
) -> list[dict[str, Any]]:
    """fct_community_daily rows of the build for first_day..last_day, ordered."""
    query = sql.SQL(
        "select community_id, activity_date, is_suppressed, {figures} from {mart} "
        "where activity_date between %s and %s order by community_id, activity_date"
    ).format(
        figures=sql.SQL(", ").join(map(sql.Identifier, METRIC_FIGURES)),
        mart=sql.Identifier(build_schema, DAILY_MART),
    )
    with conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(query, [first_day, last_day]).fetchall()
    return [{key: _plain(value) for key, value in row.items()} for row in rows]


def read_ideas(conn: psycopg.Connection, build_schema: str, as_of: datetime) -> list[IdeaResponse]:
    """Ideas submitted before `as_of` that had no response before it (candidates only)."""
    query = sql.SQL(
        "select community_id, idea_id, submitted_at, first_response_at from {mart} "
        "where submitted_at < %s and (first_response_at is null or first_response_at >= %s) "
        "order by community_id, idea_id"
    ).format(mart=sql.Identifier(build_schema, IDEAS_MART))
    rows = conn.execute(query, [as_of, as_of]).fetchall()
    return [IdeaResponse(*row) for row in rows]


def metric_messages(
    rows: Sequence[dict[str, Any]],
    *,
    run_id: str,
    interval_start: datetime,
    interval_end: datetime,
) -> list[CommunityDailyMetrics]:
    """One message per row of the interval's days (rows of other days are ignored)."""
    days = set(interval_days(interval_start, interval_end))
    return [
        CommunityDailyMetrics(
            community_id=row["community_id"],
            activity_date=row["activity_date"],
            day_complete=day_complete(row["activity_date"], interval_end),
            run_id=run_id,
            data_interval_start=interval_start,
            data_interval_end=interval_end,
            is_suppressed=row["is_suppressed"],
            **{name: row[name] for name in METRIC_FIGURES},
        )
        for row in rows
        if row["activity_date"] in days
    ]


def day_figures(rows: Sequence[dict[str, Any]]) -> list[DayFigures]:
    return [
        DayFigures(
            community_id=row["community_id"],
            activity_date=row["activity_date"],
            is_suppressed=row["is_suppressed"],
            posts=row["posts"],
            comments=row["comments"],
            engagements_per_post=row["engagements_per_post"],
            brand_voice_share=row["brand_voice_share"],
            negative_share=row["negative_share"],
        )
        for row in rows
    ]


# -- sending ------------------------------------------------------------------------------------


def _producer(bootstrap: str) -> KafkaProducer:
    try:
        return KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="pulse-publish",
            acks="all",
            linger_ms=5,
            retries=5,
            # One request in flight per broker: a retried batch cannot overtake a later one, so
            # a community's messages stay in order.
            max_in_flight_requests_per_connection=1,
            # The embedded broker (Tansu) serves no compressed batches.
            compression_type=None,
            max_request_size=4 * MIB,
        )
    except KafkaError as error:
        raise PublishError(f"cannot reach Kafka at {bootstrap}: {error}") from error


def _send(
    producer: KafkaProducer,
    topic: str,
    messages: Sequence[CommunityDailyMetrics | CommunityAlert],
    run_id: str,
    timeout_s: float = 60.0,
) -> None:
    """Send and wait for the broker's acknowledgement of every message."""
    headers = [("pulse.run_id", run_id.encode()), ("content-type", b"application/json")]
    try:
        futures = [
            producer.send(
                topic,
                key=message.community_id.encode(),
                value=message.model_dump_json().encode(),
                headers=headers,
            )
            for message in messages
        ]
        producer.flush(timeout=timeout_s)
        for future in futures:
            future.get(timeout=timeout_s)
    except KafkaError as error:
        raise PublishError(f"could not publish to {topic}: {error}") from error


def _close(producer: KafkaProducer) -> None:
    """Close without masking the error being raised: kafka-python's close() flushes first and
    raises when the broker has not acknowledged everything."""
    try:
        producer.close(timeout=10)
    except KafkaError as error:
        logger.warning("the Kafka producer did not close cleanly: %s", error)


def publish_interval(
    dsn: str,
    bootstrap: str,
    *,
    run_id: str,
    build_schema: str,
    interval_start: datetime,
    interval_end: datetime,
    metrics_topic: str,
    alerts_topic: str | None,
    thresholds: AlertThresholds,
) -> PublishReport:
    """Send the interval's metrics and its new alerts.

    Args:
        dsn: warehouse connection string (reads the build, writes quality.published_alerts).
        bootstrap: Kafka bootstrap servers.
        run_id: the pipeline run publishing.
        build_schema: the validated build the figures come from.
        interval_start: start of the data interval (aware).
        interval_end: end of the data interval (exclusive, aware).
        metrics_topic: topic of community.metrics.v1 messages.
        alerts_topic: topic of community.alerts.v1 messages; None sends no alerts
            (PULSE_ALERTS_ENABLED=false: the incidents of community.incidents.v1 replace them).
        thresholds: alert rules' knobs.

    Returns:
        What was sent.

    Raises:
        PublishError: the broker did not acknowledge every message; the alerts of this call are
            then not recorded as published, so a retry sends them.
    """
    started = time.perf_counter()
    report = PublishReport(run_id=run_id)
    days = interval_days(interval_start, interval_end)
    report.days = [day.isoformat() for day in days]
    first_needed = days[0] - timedelta(days=thresholds.baseline_days)
    with psycopg.connect(dsn) as conn:
        rows = read_daily(conn, build_schema, first_needed, days[-1])
        ideas = read_ideas(conn, build_schema, interval_end)
    metrics = metric_messages(
        rows, run_id=run_id, interval_start=interval_start, interval_end=interval_end
    )
    alerts = (
        evaluate(
            day_figures(rows),
            ideas,
            interval_start=interval_start,
            interval_end=interval_end,
            run_id=run_id,
            thresholds=thresholds,
        )
        if alerts_topic is not None
        else []
    )
    report.metrics = len(metrics)
    report.communities = len({m.community_id for m in metrics})
    report.alerts_found = len(alerts)

    producer = _producer(bootstrap)
    try:
        _send(producer, metrics_topic, metrics, run_id)
        new: list[CommunityAlert] = []
        with psycopg.connect(dsn) as conn:
            # One publisher of alerts at a time, so two runs cannot both find an id unsent.
            lock_in_transaction(conn, PUBLISH_ALERTS_LOCK)
            sent_before = {
                str(row[0])
                for row in conn.execute(
                    "select alert_id from quality.published_alerts where alert_id = any(%s)",
                    [[a.alert_id for a in alerts]],
                )
            }
            new = [a for a in alerts if str(a.alert_id) not in sent_before]
            if alerts_topic is not None:
                _send(producer, alerts_topic, new, run_id)
            with conn.cursor() as cursor:
                cursor.executemany(
                    "insert into quality.published_alerts (alert_id, alert_type, community_id, "
                    "subject, severity, run_id) values (%s, %s, %s, %s, %s, %s) "
                    "on conflict (alert_id) do nothing",
                    [
                        (a.alert_id, a.alert_type, a.community_id, a.subject, a.severity, run_id)
                        for a in new
                    ],
                )
    finally:
        _close(producer)
    report.alerts_published = len(new)
    report.alerts_already_published = len(alerts) - len(new)
    for alert in new:
        report.alerts_by_type[alert.alert_type] = report.alerts_by_type.get(alert.alert_type, 0) + 1
    report.seconds = time.perf_counter() - started
    logger.info(
        "published %d metrics (%d communities, days %s) and %d alerts (%d sent before)",
        report.metrics,
        report.communities,
        ", ".join(report.days),
        report.alerts_published,
        report.alerts_already_published,
    )
    return report
