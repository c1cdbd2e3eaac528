"""Alert rules (pulse.publishing.alerts): what fires, what does not, ids independent of the run."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import jsonschema
import pytest

from pulse.publishing.alerts import (
    AlertThresholds,
    DayFigures,
    IdeaResponse,
    alert_id,
    evaluate,
    interval_days,
)
from pulse.settings import Settings
from streaming.schemas import SCHEMA_DIR

DEFAULTS = AlertThresholds.from_settings(Settings())

DAY = date(2026, 3, 10)
MIDNIGHT_AFTER = datetime(2026, 3, 11, tzinfo=UTC)
COMMUNITY = "brand_1.broad.general"


def history(
    community: str = COMMUNITY, days: int = 7, **figures: float | int | None
) -> list[DayFigures]:
    """`days` ordinary days before DAY: 20 items, 20% negative, 3 engagements per post."""
    base = {
        "posts": 10,
        "comments": 10,
        "engagements_per_post": 3.0,
        "brand_voice_share": 0.2,
        "negative_share": 0.2,
    }
    return [
        DayFigures(community, DAY - timedelta(days=n), False, **{**base, **figures})  # type: ignore[arg-type]
        for n in range(days, 0, -1)
    ]


def today(community: str = COMMUNITY, **figures: float | int | bool | None) -> DayFigures:
    base = {
        "is_suppressed": False,
        "posts": 10,
        "comments": 10,
        "engagements_per_post": 3.0,
        "brand_voice_share": 0.2,
        "negative_share": 0.2,
    }
    return DayFigures(community, DAY, **{**base, **figures})  # type: ignore[arg-type]


def run(
    days: list[DayFigures],
    ideas: list[IdeaResponse] | None = None,
    *,
    start: datetime | None = None,
    end: datetime = MIDNIGHT_AFTER,
    run_id: str = "scheduled__2026-03-10T23:00:00+00:00",
    thresholds: AlertThresholds | None = None,
) -> list:
    return evaluate(
        days,
        ideas or [],
        interval_start=start or end - timedelta(hours=1),
        interval_end=end,
        run_id=run_id,
        thresholds=thresholds or DEFAULTS,
    )


def types(alerts: list) -> list[str]:
    return [a.alert_type for a in alerts]


def documented_id(alert_type: str, community_id: str, subject: str) -> uuid.UUID:
    """The id scheme the README documents, written out here rather than taken from alerts.py."""
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "https://community-pulse/alerts/v1")
    return uuid.uuid5(namespace, f"{alert_type}\x1f{community_id}\x1f{subject}")


# -- ids ----------------------------------------------------------------------------------------


def test_alert_ids_depend_on_what_the_alert_is_about_never_on_the_run() -> None:
    figures = [*history(), today(negative_share=0.6, brand_voice_share=0.7)]
    first = run(figures, run_id="scheduled__a")
    again = run(figures, run_id="manual__b")
    assert [a.alert_id for a in first] == [a.alert_id for a in again]
    assert {a.run_id for a in again} == {"manual__b"}
    assert [a.alert_id for a in first] == [
        documented_id("negative_sentiment_spike", COMMUNITY, "2026-03-10"),
        documented_id("brand_voice_too_high", COMMUNITY, "2026-03-10"),
    ]
    assert alert_id("engagement_drop", COMMUNITY, "2026-03-10") == documented_id(
        "engagement_drop", COMMUNITY, "2026-03-10"
    )
    with pytest.raises(ValueError, match="unknown alert type"):
        alert_id("volcano", COMMUNITY, "2026-03-10")


# -- negative sentiment -------------------------------------------------------------------------


def test_negative_share_well_above_its_baseline_is_a_spike() -> None:
    (alert,) = run([*history(), today(negative_share=0.5)])
    assert alert.alert_type == "negative_sentiment_spike"
    assert alert.subject == "2026-03-10"
    assert alert.observed == 0.5
    assert alert.baseline == pytest.approx(0.2)
    assert alert.severity == "critical"  # 0.3 above baseline >= 1.5 x 0.15
    assert alert.window.start == datetime(2026, 3, 10, tzinfo=UTC)
    assert alert.baseline_window is not None
    assert alert.baseline_window.start == datetime(2026, 3, 3, tzinfo=UTC)


def test_negative_spike_severity_and_limits() -> None:
    assert [a.severity for a in run([*history(), today(negative_share=0.36)])] == ["warning"]
    # Above the minimum share but not far enough above the usual level: no spike.
    assert run([*history(negative_share=0.3), today(negative_share=0.4)]) == []
    # Far above the usual level but under the minimum share: no spike.
    assert run([*history(negative_share=0.05), today(negative_share=0.3)]) == []


def test_no_spike_without_enough_history_or_items_or_when_suppressed() -> None:
    assert run([*history(days=2), today(negative_share=0.8)]) == []
    assert run([*history(), today(negative_share=0.8, posts=3, comments=4)]) == []
    assert run([*history(), today(negative_share=None, is_suppressed=True)]) == []
    # Suppressed days do not count as history either.
    hidden = [
        DayFigures(COMMUNITY, f.activity_date, True, None, None, None, None, None)
        for f in history()
    ]
    assert run([*hidden, today(negative_share=0.8)]) == []


# -- engagement drop ----------------------------------------------------------------------------


def test_engagement_drop_is_judged_on_complete_days_only() -> None:
    figures = [*history(), today(engagements_per_post=1.0)]
    (alert,) = run(figures)
    assert alert.alert_type == "engagement_drop"
    assert alert.severity == "warning"  # down 67%, critical from 75%
    assert alert.threshold == pytest.approx(1.5)
    # The same figures at 18:00: the day's posts are still collecting engagement.
    assert run(figures, end=datetime(2026, 3, 10, 18, tzinfo=UTC)) == []
    (worse,) = run([*history(), today(engagements_per_post=0.5)])
    assert worse.severity == "critical"
    assert run([*history(), today(engagements_per_post=1.6)]) == []


# -- brand voice --------------------------------------------------------------------------------


def test_brand_voice_above_the_limit_alerts_even_on_a_day_in_progress() -> None:
    (alert,) = run([today(brand_voice_share=0.9)], end=datetime(2026, 3, 10, 12, tzinfo=UTC))
    assert alert.alert_type == "brand_voice_too_high"
    assert alert.severity == "critical"
    assert alert.baseline is None  # no history needed, none shown
    assert run([today(brand_voice_share=0.5)]) == []  # at the limit is not above it
    assert [a.severity for a in run([today(brand_voice_share=0.6)])] == ["warning"]


# -- ideas --------------------------------------------------------------------------------------


def test_ideas_waiting_past_the_limit_at_the_interval_end_alert_once_per_idea() -> None:
    end = MIDNIGHT_AFTER
    ideas = [
        IdeaResponse(COMMUNITY, "waiting", end - timedelta(days=8)),
        IdeaResponse(COMMUNITY, "answered", end - timedelta(days=9), end - timedelta(days=1)),
        # Answered only after the interval's end: at the end it was still waiting.
        IdeaResponse(
            COMMUNITY, "answered_later", end - timedelta(days=9), end + timedelta(hours=1)
        ),
        IdeaResponse(COMMUNITY, "recent", end - timedelta(days=6)),
        IdeaResponse(COMMUNITY, "very_old", end - timedelta(days=20)),
    ]
    alerts = run([], ideas)
    assert [(a.alert_type, a.subject) for a in alerts] == [
        ("idea_unanswered", "answered_later"),
        ("idea_unanswered", "very_old"),
        ("idea_unanswered", "waiting"),
    ]
    by_idea = {a.idea_id: a for a in alerts}
    assert by_idea["waiting"].observed == pytest.approx(8 * 24)
    assert by_idea["waiting"].severity == "warning"
    assert by_idea["very_old"].severity == "critical"
    assert by_idea["waiting"].window.end == end
    assert {a.alert_id for a in alerts} == {
        documented_id("idea_unanswered", COMMUNITY, idea)
        for idea in ("answered_later", "very_old", "waiting")
    }


# -- interval, thresholds, schema ---------------------------------------------------------------


def test_interval_days_are_the_utc_days_the_interval_touches() -> None:
    assert interval_days(datetime(2026, 3, 10, 23, tzinfo=UTC), MIDNIGHT_AFTER) == [DAY]
    assert interval_days(datetime(2026, 3, 10, tzinfo=UTC), MIDNIGHT_AFTER) == [DAY]
    assert interval_days(
        datetime(2026, 3, 10, 22, tzinfo=UTC), datetime(2026, 3, 11, 2, tzinfo=UTC)
    ) == [DAY, date(2026, 3, 11)]
    # One rule for moments without an offset (pulse.timestamps): they are UTC.
    assert interval_days(datetime(2026, 3, 10), datetime(2026, 3, 11)) == [DAY]


def test_only_the_interval_days_are_judged() -> None:
    figures = [*history(), today(brand_voice_share=0.9)]
    next_day = datetime(2026, 3, 12, tzinfo=UTC)
    assert run(figures, start=MIDNIGHT_AFTER, end=next_day) == []


def test_thresholds_come_from_settings() -> None:
    limits = AlertThresholds.from_settings(Settings(alert_brand_voice_max=0.8))
    assert limits.brand_voice_max == 0.8
    assert limits.min_items == DEFAULTS.min_items
    assert run([today(brand_voice_share=0.7)], thresholds=limits) == []
    with pytest.raises(ValueError, match="brand_voice_max"):
        replace(DEFAULTS, brand_voice_max=1.5)
    with pytest.raises(ValueError, match="min_baseline_days"):
        replace(DEFAULTS, baseline_days=3, min_baseline_days=5)


def test_alerts_match_the_committed_json_schema() -> None:
    schema = json.loads((SCHEMA_DIR / "community.alerts.v1.schema.json").read_text())
    ideas = [IdeaResponse(COMMUNITY, "i1", MIDNIGHT_AFTER - timedelta(days=8))]
    figures = [
        *history(),
        today(negative_share=0.6, brand_voice_share=0.7, engagements_per_post=0.2),
    ]
    alerts = run(figures, ideas)
    assert set(types(alerts)) == {
        "negative_sentiment_spike",
        "engagement_drop",
        "brand_voice_too_high",
        "idea_unanswered",
    }
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for alert in alerts:
        validator.validate(json.loads(alert.model_dump_json()))
    broken = json.loads(alerts[0].model_dump_json())
    broken["alert_type"] = "volcano"
    assert not validator.is_valid(broken)
