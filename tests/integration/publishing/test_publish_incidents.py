"""Incidents end to end on hand-made events: dbt builds fct_alert_incidents, the publisher sends
its lifecycle to community.incidents.v1 on the real broker, and a re-run sends nothing.

Thirty days of a micro community of 10 members, each day 5 posts and 5 comments with an explicit
sentiment, one in ten negative; for ten days (Jan 11-20) eight in ten are negative. So the
condition holds for ten days: one incident, opened on the first of them, resolved three quiet
complete days after the last day it held. A tiny community next to it (6 members) has three
negative posts of four one day: a handful, which opens nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
import pytest
from psycopg.rows import dict_row
from support.pipeline import read_topic
from support.warehouse import load_raw

from pulse.orchestration.dbt import run_dbt
from pulse.publishing.incidents import publish_incidents
from pulse.settings import Settings
from streaming.schemas import SCHEMA_DIR
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIRST_DAY = date(2026, 1, 1)
DAYS = 30
CRISIS = (date(2026, 1, 11), date(2026, 1, 21))  # ten days, the second exclusive
MAKERS, TINY = "acme.micro.makers", "acme.micro.tiny"
TINY_BAD_DAY = date(2026, 1, 15)
INTERVAL = (datetime(2026, 1, 30, tzinfo=UTC), datetime(2026, 1, 31, tzinfo=UTC))


def _event(
    event_type: str, at: datetime, community: str, member: str | None, **payload: Any
) -> bytes:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{community}/{event_type}/{at}/{member}")),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": at.isoformat(),
        "community_id": community,
        "platform": "discord",
        "payload": payload,
    }
    if member is not None:
        event["member_id"] = member
    return json.dumps(event).encode()


def community_events(community: str, members: int, negative: dict[date, int]) -> list[bytes]:
    """Every day: 5 posts and 5 comments (one each by the first ten members, round the circle),
    negative[day] of them negative, the rest positive."""
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC)
    values = [
        _event(
            "community.upserted", start, community, None,
            name=community, kind="micro", brand_id="acme", topic="making", visibility="private",
        )
    ]  # fmt: skip
    for n in range(DAYS):
        day = FIRST_DAY + timedelta(days=n)
        noon = start + timedelta(days=n, hours=9)
        bad = negative.get(day, 1 if members >= 10 else 0)
        for i in range(10 if members >= 10 else 4):
            author = f"m{i % members}"
            at = noon + timedelta(minutes=7 * i)
            sentiment = -0.6 if i < bad else 0.6
            if i % 2 == 0 or members < 10:
                values.append(
                    _event(
                        "post.created", at, community, author, post_id=f"p-{n}-{i}",
                        author_role="member", content_type="text", sentiment=sentiment,
                    )
                )  # fmt: skip
            else:
                values.append(
                    _event(
                        "comment.created", at, community, author, comment_id=f"c-{n}-{i}",
                        post_id=f"p-{n}-{i - 1}", author_role="member", sentiment=sentiment,
                    )
                )  # fmt: skip
        if members < 10:  # the tiny community's other members react, so 5 are active
            for i in range(4, members):
                at = noon + timedelta(hours=2, minutes=i)
                values.append(
                    _event(
                        "reaction.added", at, community, f"m{i}", target_type="post",
                        target_id=f"p-{n}-0", reaction="like",
                    )
                )  # fmt: skip
    return values


def events() -> list[bytes]:
    crisis = {CRISIS[0] + timedelta(days=n): 8 for n in range((CRISIS[1] - CRISIS[0]).days)}
    return community_events(MAKERS, 10, crisis) + community_events(TINY, 6, {TINY_BAD_DAY: 3})


def publish(settings: Settings, dsn: str, run_id: str) -> Any:
    return publish_incidents(
        dsn,
        str(settings.kafka_bootstrap),
        run_id=run_id,
        build_schema="analytics",
        interval_start=INTERVAL[0],
        interval_end=INTERVAL[1],
        topic=settings.incidents_topic,
    )


def test_a_condition_that_holds_ten_days_is_one_incident_opened_and_resolved_once(
    pg_dsn: str, settings: Settings, tmp_path: Path
) -> None:
    assert load_raw(pg_dsn, events(), settings) == 301 + 181  # every event stored
    run_dbt(["run"], pg_dsn, settings, target_path=tmp_path / "dbt")
    with psycopg.connect(pg_dsn, row_factory=dict_row) as conn:
        found = conn.execute("select * from analytics.fct_alert_incidents").fetchall()
        daily = conn.execute(
            "select count(*) filter (where not is_suppressed) as shown from "
            "analytics.fct_community_daily where community_id = %s",
            [TINY],
        ).fetchone()
    assert daily is not None and daily["shown"] >= 20  # the tiny community's days are shown
    (incident,) = found
    assert (incident["community_id"], incident["alert_type"], incident["brand_id"]) == (
        MAKERS,
        "negative_sentiment_spike",
        "acme",
    )
    midnight = datetime.combine(CRISIS[0], datetime.min.time(), tzinfo=UTC)
    assert incident["opened_at"] == midnight
    # Held on every day whose window (the day and the one before) had crisis days: Jan 11-21.
    assert incident["days_held"] == 11
    assert incident["last_seen_at"] == midnight + timedelta(days=11)
    # Quiet on Jan 22, 23 and 24: resolved at the end of the third.
    assert incident["resolved_at"] == midnight + timedelta(days=14)
    assert (incident["status"], incident["resolution"]) == ("resolved", "condition_ended")
    # 80% against 10%: critical from the first day, so it never escalates.
    assert (incident["severity"], incident["escalated_at"]) == ("critical", None)
    assert float(incident["baseline"]) == pytest.approx(0.1)
    assert float(incident["observed"]) == pytest.approx(0.8)

    ensure_topics(str(settings.kafka_bootstrap), pipeline_topics(settings))
    first = publish(settings, pg_dsn, "run-1")
    assert (first.messages_published, first.by_event) == (2, {"opened": 1, "resolved": 1})
    sent = read_topic(str(settings.kafka_bootstrap), settings.incidents_topic, 2)
    assert len(sent) == 2
    schema = json.loads((SCHEMA_DIR / "community.incidents.v1.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for message in sent:
        validator.validate(message.json())
        assert message.key == MAKERS.encode()
    bodies = [message.json() for message in sent]
    assert [b["event"] for b in bodies] == ["opened", "resolved"]
    assert {b["incident_id"] for b in bodies} == {str(incident["incident_id"])}

    # The same interval again (a retry, a re-run): nothing new is sent.
    again = publish(settings, pg_dsn, "run-2")
    assert (again.messages_published, again.messages_already_published) == (0, 2)
    assert len(read_topic(str(settings.kafka_bootstrap), settings.incidents_topic, 2)) == 2
    with psycopg.connect(pg_dsn) as conn:
        recorded = conn.execute(
            "select event, run_id from quality.published_incident_events order by published_at"
        ).fetchall()
    assert recorded == [("opened", "run-1"), ("resolved", "run-1")]
