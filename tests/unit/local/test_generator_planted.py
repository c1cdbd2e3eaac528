"""Planted incidents (GeneratorConfig.plant_incidents): what the generator says it plants is in
the events, and nothing else is left to alarm (every other idea answered in time).

Pure logic, no database: the events are counted here the simple way. Whether the incident rule
finds them is tests/integration/dbt/test_dbt_incidents.py.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pulse.local.generator import GeneratorConfig, PlantedIncident, generate, planted_incidents
from pulse.local.generator.planted import (
    LATE_ANSWER_DAYS,
    OVERPOSTING_SHARE,
    QUIET,
    QUIET_MIN_MEMBERS,
)

END = datetime(2026, 3, 1, tzinfo=UTC)
CONFIG = GeneratorConfig(seed=5, events=40_000, days=35, end=END, plant_incidents=True)


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    found = []
    for message in generate(CONFIG):
        if message.kind == "valid":
            event = json.loads(message.value)  # type: ignore[arg-type]
            event["at"] = datetime.fromisoformat(event["occurred_at"])
            found.append(event)
    return found


@pytest.fixture(scope="module")
def planted() -> list[PlantedIncident]:
    return planted_incidents(CONFIG)


def _inside(event: dict[str, Any], start: datetime, end: datetime) -> bool:
    return start <= event["at"] < end


def test_every_kind_is_planted_inside_the_span_with_room_around_it(
    planted: list[PlantedIncident],
) -> None:
    kinds = Counter(p.alert_type for p in planted if p.expect_incident)
    assert set(kinds) == {
        "negative_sentiment_spike",
        "engagement_drop",
        "brand_voice_too_high",
        "idea_unanswered",
        "core_members_quiet",
    }
    start = END - timedelta(days=CONFIG.days)
    for incident in planted:
        assert start + timedelta(days=7) <= incident.start < incident.end <= END, incident
    (control,) = [p for p in planted if not p.expect_incident]
    assert control.community_id.endswith(".tiny_circle")
    # The same config always plants the same.
    assert planted_incidents(CONFIG) == planted
    assert planted_incidents(GeneratorConfig(seed=5, events=40_000, days=35, end=END)) == []


def test_planting_needs_room() -> None:
    with pytest.raises(ValueError, match="days >= 30"):
        GeneratorConfig(days=21, plant_incidents=True)


def test_crises_turn_negative_and_spells_are_the_brand_writing_three_posts_in_four(
    events: list[dict[str, Any]], planted: list[PlantedIncident]
) -> None:
    def items(community: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return [
            e
            for e in events
            if e["community_id"] == community
            and e["event_type"] in ("post.created", "comment.created")
            and _inside(e, start, end)
        ]

    def negative_share(found: list[dict[str, Any]]) -> float:
        scored = [e["payload"]["sentiment"] for e in found if "sentiment" in e["payload"]]
        return sum(1 for s in scored if s <= -0.05) / len(scored)

    for incident in planted:
        week_before = incident.start - timedelta(days=7)
        if incident.alert_type == "negative_sentiment_spike" and incident.expect_incident:
            during = items(incident.community_id, incident.start, incident.end)
            before = items(incident.community_id, week_before, incident.start)
            # (Explicit sentiments of neutral items fall below -0.05 a third of the time.)
            share_during, share_before = negative_share(during), negative_share(before)
            assert share_during > 0.6 and share_during > 1.6 * share_before, incident
        if incident.alert_type == "brand_voice_too_high":
            posts = [
                e
                for e in items(incident.community_id, week_before, incident.end)
                if e["event_type"] == "post.created"
            ]
            by_brand = Counter(
                (_inside(e, incident.start, incident.end), e["payload"]["author_role"] != "member")
                for e in posts
            )
            during = by_brand[True, True] / (by_brand[True, True] + by_brand[True, False])
            before = by_brand[False, True] / (by_brand[False, True] + by_brand[False, False])
            assert abs(during - OVERPOSTING_SHARE) < 0.15 and before < 0.2, (during, before)


def test_collapses_take_the_engagement_of_the_window_posts_away(
    events: list[dict[str, Any]], planted: list[PlantedIncident]
) -> None:
    for incident in planted:
        if incident.alert_type != "engagement_drop":
            continue
        posts = {
            e["payload"]["post_id"]: _inside(e, incident.start, incident.end)
            for e in events
            if e["community_id"] == incident.community_id
            and e["event_type"] == "post.created"
            and _inside(e, incident.start - timedelta(days=7), incident.end)
        }
        engaged: Counter[bool] = Counter()
        for e in events:
            target = e["payload"].get("post_id") or e["payload"].get("target_id")
            engagement = e["event_type"] in ("comment.created", "reaction.added", "content.shared")
            if engagement and target in posts:
                engaged[posts[target]] += 1
        during = engaged[True] / sum(posts.values())
        before = engaged[False] / (len(posts) - sum(posts.values()))
        assert during < 0.35 * before, (incident, during, before)


def test_ideas_are_answered_in_days_except_those_of_a_stretch(
    events: list[dict[str, Any]], planted: list[PlantedIncident]
) -> None:
    submitted: dict[tuple[str, str], datetime] = {}
    answered: dict[tuple[str, str], datetime] = defaultdict(lambda: END + timedelta(days=99))
    for e in events:
        key = (e["community_id"], e["payload"].get("idea_id", ""))
        if e["event_type"] == "feedback.submitted":
            submitted[key] = e["at"]
        elif e["event_type"] == "feedback.status_changed":
            answered[key] = min(answered[key], e["at"])
    stretches = {p.community_id: p for p in planted if p.alert_type == "idea_unanswered"}
    late = []
    for key, at in submitted.items():
        waited = min(answered[key], END) - at
        stretch = stretches.get(key[0])
        first_deadline = stretch.start if stretch else END
        in_stretch = stretch is not None and (
            first_deadline - timedelta(days=7) <= at < first_deadline - timedelta(days=3)
        )
        if in_stretch:
            late.append(key)
            assert waited >= timedelta(days=LATE_ANSWER_DAYS) or answered[key] >= END
        else:
            assert waited < timedelta(days=7), (key, at, waited)
    # Each stretch has an idea in its first hours: its limit runs out on the planted start.
    for stretch in stretches.values():
        firsts = [
            at
            for (community, _), at in submitted.items()
            if community == stretch.community_id
            and timedelta(0) <= at - (stretch.start - timedelta(days=7)) < timedelta(hours=3)
        ]
        assert firsts, stretch
    assert len(late) >= len(stretches)


ACTIONS = (
    "post.created",
    "comment.created",
    "reaction.added",
    "content.shared",
    "feedback.submitted",
    "feedback.voted",
)


def test_a_quiet_spell_silences_top_members_from_a_monday_while_the_others_go_on(
    events: list[dict[str, Any]], planted: list[PlantedIncident]
) -> None:
    (spell,) = [p for p in planted if p.alert_type == "core_members_quiet"]
    assert spell.start.weekday() == 0 and spell.start.time().isoformat() == "00:00:00"
    assert spell.end == min(spell.start + timedelta(weeks=QUIET[1]), END)
    own = [e for e in events if e["community_id"] == spell.community_id]
    four_weeks_before = spell.start - timedelta(weeks=4)

    def actions_by_member(start: datetime, end: datetime) -> Counter[str]:
        return Counter(
            e["member_id"] for e in own if e["event_type"] in ACTIONS and _inside(e, start, end)
        )

    before = actions_by_member(four_weeks_before, spell.start)
    top_quarter = [member for member, _ in before.most_common(max(1, len(before) // 4))]
    during = {e["member_id"] for e in own if _inside(e, spell.start, spell.end)}
    silent_top = [member for member in top_quarter if member not in during]
    # Several of the most active stop altogether (not one event of any kind, votes included)...
    assert len(silent_top) >= QUIET_MIN_MEMBERS, (len(silent_top), len(top_quarter))
    # ...which two weeks before the spell hardly any of them did.
    two_weeks_before = spell.start - timedelta(weeks=2)
    earlier = {e["member_id"] for e in own if _inside(e, two_weeks_before, spell.start)}
    assert sum(member not in earlier for member in top_quarter) <= 1
    # The others write what the community writes on a usual day: the spell is no drop in posts.
    posts = Counter(
        _inside(e, spell.start, spell.end)
        for e in own
        if e["event_type"] == "post.created"
        and _inside(e, spell.start - (spell.end - spell.start), spell.end)
    )
    assert 0.7 < posts[True] / posts[False] < 1.4, posts
