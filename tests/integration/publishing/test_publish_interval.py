"""`publish_interval` on the real broker and warehouse: alert ids as documented, and what a broker
that does not acknowledge the alerts leaves behind.

The figures come from a build schema made here with the two tables and the columns the publisher
reads (fct_community_daily, fct_feedback_ideas), holding community-days chosen so that each
alert rule's outcome is known: publishing is the unit under test, not the dbt models (those are
tested against the same rules in tests/integration/dags/test_dags_community_metrics.py).
"""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from support.ingest import wait_until
from support.pipeline import read_topic

from pulse.local.stack import LocalStack
from pulse.publishing.alerts import AlertThresholds
from pulse.publishing.publish import METRIC_FIGURES, PublishError, PublishReport, publish_interval
from pulse.settings import Settings
from pulse.warehouse.names import PUBLISH_ALERTS_LOCK
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BUILD = "build_publish_test"
DAY_1, DAY_2 = date(2026, 3, 9), date(2026, 3, 10)
MAKERS, GENERAL = "acme.micro.makers", "acme.broad.general"
RATIOS = {
    "stickiness",
    "brand_voice_share",
    "engagements_per_post",
    "engagement_rate",
    "avg_sentiment",
    "negative_share",
    "median_first_response_minutes",
}
# (community, day, brand_voice_share): with 20 posts and comments a day and the default limit of
# 50%, the makers' brand voice alerts on both days, the general community's on the second only.
DAYS = [
    (MAKERS, DAY_1, 0.9),
    (MAKERS, DAY_2, 0.8),
    (GENERAL, DAY_1, 0.2),
    (GENERAL, DAY_2, 0.75),
]
# An idea nobody answered, submitted 9 days before the first day ends (the limit is 7 days).
IDEA = (MAKERS, "idea-7", datetime(2026, 3, 1, tzinfo=UTC))


def documented_alert_id(alert_type: str, community_id: str, subject: str) -> uuid.UUID:
    """The README's scheme, written out here (not pulse.publishing.alerts.alert_id)."""
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "https://community-pulse/alerts/v1")
    return uuid.uuid5(namespace, f"{alert_type}\x1f{community_id}\x1f{subject}")


def make_build(dsn: str) -> None:
    figures = [
        sql.SQL("{} {}").format(
            sql.Identifier(name), sql.SQL("numeric(14,6)" if name in RATIOS else "integer")
        )
        for name in METRIC_FIGURES
    ]
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(BUILD)))
        conn.execute(
            sql.SQL(
                "create table {} (community_id text, activity_date date, is_suppressed boolean, {})"
            ).format(sql.Identifier(BUILD, "fct_community_daily"), sql.SQL(", ").join(figures))
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                sql.SQL(
                    "insert into {} (community_id, activity_date, is_suppressed, posts, comments, "
                    "engagements_per_post, brand_voice_share, negative_share) "
                    "values (%s, %s, false, 10, 10, 3.0, %s, 0.1)"
                ).format(sql.Identifier(BUILD, "fct_community_daily")),
                DAYS,
            )
        conn.execute(
            sql.SQL(
                "create table {} (community_id text, idea_id text, submitted_at timestamptz, "
                "first_response_at timestamptz)"
            ).format(sql.Identifier(BUILD, "fct_feedback_ideas"))
        )
        conn.execute(
            sql.SQL("insert into {} values (%s, %s, %s, null)").format(
                sql.Identifier(BUILD, "fct_feedback_ideas")
            ),
            IDEA,
        )


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def publish(settings: Settings, run_id: str, last_day: date) -> PublishReport:
    """Publish the build for DAY_1 .. last_day."""
    assert settings.pg_dsn is not None
    return publish_interval(
        settings.pg_dsn.get_secret_value(),
        str(settings.kafka_bootstrap),
        run_id=run_id,
        build_schema=BUILD,
        interval_start=midnight(DAY_1),
        interval_end=midnight(last_day) + timedelta(days=1),
        metrics_topic=settings.metrics_topic,
        alerts_topic=settings.alerts_topic,
        thresholds=AlertThresholds.from_settings(Settings()),
    )


def recorded(dsn: str) -> dict[uuid.UUID, tuple[str, str, str, str]]:
    """quality.published_alerts: alert_id -> (type, community, subject, run_id)."""
    with psycopg.connect(dsn) as conn:
        return {
            row[0]: row[1:]
            for row in conn.execute(
                "select alert_id, alert_type, community_id, subject, run_id "
                "from quality.published_alerts"
            )
        }


def sent_alerts(settings: Settings, expected: int) -> list[dict[str, Any]]:
    messages = read_topic(str(settings.kafka_bootstrap), settings.alerts_topic, expected)
    return [message.json() for message in messages]


def test_alert_ids_are_the_documented_uuid5_and_each_sent_alert_is_recorded(
    settings: Settings, pg_dsn: str
) -> None:
    ensure_topics(str(settings.kafka_bootstrap), pipeline_topics(settings))
    make_build(pg_dsn)

    report = publish(settings, "run-1", DAY_2)
    assert report.alerts_by_type == {"brand_voice_too_high": 3, "idea_unanswered": 1}
    bodies = sent_alerts(settings, report.alerts_published)
    about = {(b["alert_type"], b["community_id"], b["subject"]): b for b in bodies}
    assert set(about) == {
        ("brand_voice_too_high", MAKERS, "2026-03-09"),
        ("brand_voice_too_high", MAKERS, "2026-03-10"),
        ("brand_voice_too_high", GENERAL, "2026-03-10"),
        ("idea_unanswered", MAKERS, "idea-7"),
    }
    for (kind, community, subject), body in about.items():
        assert uuid.UUID(body["alert_id"]) == documented_alert_id(kind, community, subject)
    assert recorded(pg_dsn) == {documented_alert_id(*key): (*key, "run-1") for key in about}


def test_alerts_the_broker_did_not_acknowledge_stay_unrecorded_and_a_retry_sends_exactly_them(
    settings: Settings, pg_dsn: str, local_stack: LocalStack
) -> None:
    ensure_topics(str(settings.kafka_bootstrap), pipeline_topics(settings))
    make_build(pg_dsn)
    first = publish(settings, "run-1", DAY_1)
    assert first.alerts_published == 2  # the makers' first day, and the idea
    before = recorded(pg_dsn)
    assert set(before) == {
        documented_alert_id("brand_voice_too_high", MAKERS, "2026-03-09"),
        documented_alert_id("idea_unanswered", MAKERS, "idea-7"),
    }

    # The next run (both days) sends its metrics, then waits for the alerts lock, held here.
    # Once it waits, the broker is frozen and the lock released: the alerts meet a broker that
    # acknowledges nothing.
    broker = int(local_stack.kafka_pid_file.read_text())
    holder = psycopg.connect(pg_dsn, autocommit=True)
    holder.execute("select pg_advisory_lock(hashtext(%s))", [PUBLISH_ALERTS_LOCK])
    outcome: dict[str, Any] = {}

    def second_run() -> None:
        try:
            outcome["report"] = publish(settings, "run-2", DAY_2)
        except Exception as error:  # the assertions below say what was expected
            outcome["error"] = error

    thread = threading.Thread(target=second_run)
    frozen = False
    try:
        thread.start()
        wait_until(
            lambda: _waits_for_advisory_lock(holder), 60, "the publisher to wait for the lock"
        )
        os.kill(broker, signal.SIGSTOP)
        frozen = True
        holder.execute("select pg_advisory_unlock(hashtext(%s))", [PUBLISH_ALERTS_LOCK])
        thread.join(timeout=240)
        assert not thread.is_alive(), "the publisher did not give up on a frozen broker"
    finally:
        if frozen:
            os.kill(broker, signal.SIGCONT)
        holder.close()
    assert isinstance(outcome.get("error"), PublishError), outcome
    assert settings.alerts_topic in str(outcome["error"])
    assert recorded(pg_dsn) == before  # nothing of the unacknowledged alerts is recorded

    retry = publish(settings, "run-2", DAY_2)
    missing = {
        documented_alert_id("brand_voice_too_high", MAKERS, "2026-03-10"),
        documented_alert_id("brand_voice_too_high", GENERAL, "2026-03-10"),
    }
    assert (retry.alerts_published, retry.alerts_already_published) == (2, 2)
    after = recorded(pg_dsn)
    assert set(after) == set(before) | missing
    assert {after[alert][3] for alert in missing} == {"run-2"}
    sent = Counter(uuid.UUID(body["alert_id"]) for body in sent_alerts(settings, 4))
    assert set(sent) == set(before) | missing
    # Recorded alerts are never sent again. The unacknowledged ones may also have landed once
    # the broker thawed (at-least-once: consumers deduplicate on alert_id).
    assert {alert: sent[alert] for alert in before} == dict.fromkeys(before, 1)


def _waits_for_advisory_lock(holder: psycopg.Connection) -> bool:
    row = holder.execute(
        "select count(*) from pg_locks where locktype = 'advisory' and not granted "
        "and database = (select oid from pg_database where datname = current_database())"
    ).fetchone()
    return bool(row and row[0])
