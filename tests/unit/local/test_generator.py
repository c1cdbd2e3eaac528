"""The traffic generator: contract, stream shape and the realism claims of its docstring.

Pure logic: no broker, no database. One 20k-event run (module fixture) backs most checks; a
second one in the brownfield shape (`GeneratorConfig.brownfield()`) backs the checks of
pre-existing members and heavy engagers.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import re
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from pulse.local.generator import (
    GeneratedMessage,
    GeneratorConfig,
    draws,
    generate,
)
from pulse.local.generator.vocabulary import CAMPAIGN_TAGS, COMMUNITY_TREND_TAGS
from streaming.contracts import EVENT_TYPES, INBOUND_ADAPTER

END = datetime(2026, 11, 3, tzinfo=UTC)
EVENTS = 20_000
MIB = 1024 * 1024
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")
COMMUNITY_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
ACTIVITY_TYPES = frozenset(EVENT_TYPES - {"community.upserted", "member.joined"})
ENGAGEMENT_TYPES = ("comment.created", "reaction.added", "content.shared")
MULTI_REACTION_PLATFORMS = {"discord", "brand_app"}
# sha256 of the valid messages of `GeneratorConfig(events=20_000, end=END)`, one per line, with
# `audience_size` taken out of the upserts and the trending tags out of the posts: recorded with
# the generator as it was before pre-existing members, heavy engagers and trends existed. A
# deliberate change of the default stream records it again.
DEFAULT_STREAM_SHA256 = "f40c6f03332705b04e373bbd6aa3d247c8e7a11a01c70be45c9334e635e575c6"
_TREND = b"|".join(re.escape(tag.encode()) for tag in (*CAMPAIGN_TAGS, *COMMUNITY_TREND_TAGS))
# Trends come after a post's other tags, so a list that starts with one holds only trends.
_ONLY_TRENDS = re.compile(rb',"tags":\["(?:' + _TREND + rb')"(?:,"(?:' + _TREND + rb')")*\]')
_ONE_TREND = re.compile(rb',"(?:' + _TREND + rb')"(?=[,\]])')


def valid_events(messages: Iterable[GeneratedMessage]) -> list[dict[str, Any]]:
    """Valid events in stream order, with `at` (occurred_at as datetime) added."""
    parsed = []
    for message in messages:
        if message.kind == "valid":
            event = json.loads(message.value)
            event["at"] = datetime.fromisoformat(event["occurred_at"])
            parsed.append(event)
    return parsed


@pytest.fixture(scope="module")
def messages() -> list[GeneratedMessage]:
    return list(generate(GeneratorConfig(events=EVENTS, end=END)))


@pytest.fixture(scope="module")
def events(messages: list[GeneratedMessage]) -> list[dict[str, Any]]:
    return valid_events(messages)


@pytest.fixture(scope="module")
def brownfield_events() -> list[dict[str, Any]]:
    """The same world in the brownfield shape: pre-existing members and heavy engagers."""
    return valid_events(generate(GeneratorConfig.brownfield(events=EVENTS, end=END)))


@pytest.fixture(scope="module")
def communities(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        e["community_id"]: e["payload"] for e in events if e["event_type"] == "community.upserted"
    }


def of_type(events: Iterable[dict[str, Any]], *event_types: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event_type"] in event_types]


def by_time(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: e["at"])


def scored_sentiment(payload: dict[str, Any], vader: SentimentIntensityAnalyzer) -> float | None:
    """What the pipeline stores: the sent sentiment, else VADER's compound of the text."""
    if payload.get("sentiment") is not None:
        return payload["sentiment"]
    if payload.get("text"):
        return vader.polarity_scores(payload["text"])["compound"]
    return None


# --- contract and stream ---------------------------------------------------------------------


def test_every_message_is_valid_or_invalid_as_labelled_under_the_inbound_contract(
    messages: list[GeneratedMessage],
) -> None:
    now = datetime.now(UTC)
    for message in messages:
        if message.kind in ("valid", "duplicate"):
            event = INBOUND_ADAPTER.validate_json(message.value)
            assert str(event.event_id) == message.event_id
            assert message.key == event.community_id.encode()
        elif message.reason == "future_timestamp":
            event = INBOUND_ADAPTER.validate_json(message.value)
            assert event.occurred_at > now + timedelta(days=365)
        else:
            with pytest.raises(ValidationError):
                INBOUND_ADAPTER.validate_json(message.value)


def test_invalid_messages_carry_a_reason_that_matches_their_bytes(
    messages: list[GeneratedMessage],
) -> None:
    for message in messages:
        if message.kind != "invalid":
            assert message.reason is None
            continue
        assert message.event_id is None
        value = message.value
        if message.reason == "invalid_utf8":
            with pytest.raises(UnicodeDecodeError):
                value.decode()
        elif message.reason == "oversized":
            assert len(value) > 1.1 * MIB
        else:
            assert len(value) < MIB
            text = value.decode()
            if message.reason == "invalid_json":
                with pytest.raises(json.JSONDecodeError):
                    json.loads(text)
            elif message.reason == "unknown_event_type":
                assert json.loads(text)["event_type"] not in EVENT_TYPES
            elif message.reason == "future_timestamp":
                assert json.loads(text)["occurred_at"].startswith("2999-")


def test_invalid_messages_cycle_through_every_reason_at_the_configured_share(
    messages: list[GeneratedMessage],
) -> None:
    reasons = Counter(m.reason for m in messages if m.kind == "invalid")
    assert set(reasons) == {
        "invalid_json",
        "invalid_utf8",
        "oversized",
        "schema_violation",
        "unknown_event_type",
        "future_timestamp",
    }
    assert reasons["oversized"] == 1  # at most one per 100k messages, at least one here
    assert sum(reasons.values()) / len(messages) == pytest.approx(0.005, rel=0.1)
    positions = [i for i, m in enumerate(messages) if m.kind == "invalid"]
    interval = len(messages) / len(positions)
    assert positions[0] < 2 * interval
    assert positions[-1] > len(messages) - 2 * interval
    assert max(b - a for a, b in itertools.pairwise(positions)) < 2 * interval


def test_schema_violations_cover_missing_field_wrong_type_bad_enum_and_bad_community_id(
    messages: list[GeneratedMessage],
) -> None:
    kinds = set()
    for message in messages:
        if message.reason != "schema_violation":
            continue
        with pytest.raises(ValidationError) as caught:
            INBOUND_ADAPTER.validate_json(message.value)
        kinds.update(error["type"] for error in caught.value.errors())
    assert {"missing", "literal_error", "string_type"} <= kinds
    assert kinds & {"float_type", "float_parsing"}  # a sentiment that is not a number
    assert "string_pattern_mismatch" in kinds  # a community id with spaces


def test_duplicates_resend_an_earlier_valid_message_shortly_after_it(
    messages: list[GeneratedMessage],
) -> None:
    duplicates = 0
    for i, message in enumerate(messages):
        if message.kind != "duplicate":
            continue
        duplicates += 1
        recent = messages[max(0, i - 30) : i]
        assert any(
            m.kind == "valid" and (m.key, m.value) == (message.key, message.value) for m in recent
        )
    valid = sum(m.kind == "valid" for m in messages)
    assert 0.005 < duplicates / valid < 0.015


def test_valid_event_ids_are_unique_uuid4s(events: list[dict[str, Any]]) -> None:
    ids = [e["event_id"] for e in events]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(event_id).version == 4 for event_id in ids)


def test_fast_uuid_matches_uuid_module_for_the_same_random_bits() -> None:
    fast, reference = random.Random(7), random.Random(7)
    for _ in range(1000):
        expected = str(uuid.UUID(int=reference.getrandbits(128), version=4))
        assert draws._uuid4(fast) == expected


def test_timestamps_are_rfc3339_with_offset_inside_the_window(
    events: list[dict[str, Any]],
) -> None:
    start = END - timedelta(days=60)
    for event in events:
        assert TIMESTAMP.match(event["occurred_at"]), event["occurred_at"]
        assert event["at"].isoformat(timespec="microseconds") == event["occurred_at"]
        assert start <= event["at"] < END
        assert event["schema_version"] == 1


def test_key_is_the_community_id(messages: list[GeneratedMessage]) -> None:
    for message in messages:
        if message.kind != "invalid":
            assert json.loads(message.value)["community_id"].encode() == message.key


def test_same_config_yields_identical_messages_and_another_seed_differs() -> None:
    config = GeneratorConfig(events=5000, end=END, seed=11)
    first = [(m.key, m.value, m.kind) for m in generate(config)]
    again = [(m.key, m.value, m.kind) for m in generate(config)]
    other = [(m.key, m.value, m.kind) for m in generate(GeneratorConfig(events=5000, end=END))]
    assert first == again
    assert first != other


def test_valid_events_do_not_depend_on_the_invalid_and_duplicate_shares() -> None:
    base = GeneratorConfig(events=5000, end=END, seed=3)
    clean = GeneratorConfig(events=5000, end=END, seed=3, invalid_share=0.0, duplicate_share=0.0)
    noisy = [m.value for m in generate(base) if m.kind == "valid"]
    plain = list(generate(clean))
    assert all(m.kind == "valid" for m in plain)
    assert noisy == [m.value for m in plain]


def test_default_valid_events_are_what_they_were_before_the_brownfield_shares(
    messages: list[GeneratedMessage],
) -> None:
    digest = hashlib.sha256()
    for message in messages:
        if message.kind == "valid":
            value = re.sub(rb',"audience_size":\d+', b"", message.value)
            value = _ONE_TREND.sub(b"", _ONLY_TRENDS.sub(b"", value))
            digest.update(value + b"\n")
    assert digest.hexdigest() == DEFAULT_STREAM_SHA256


@pytest.mark.parametrize("brownfield", [False, True], ids=["default", "brownfield"])
@pytest.mark.parametrize("requested", [5_000, 20_000])
def test_number_of_valid_events_is_within_ten_percent_of_requested(
    requested: int, brownfield: bool
) -> None:
    shape = GeneratorConfig.brownfield if brownfield else GeneratorConfig
    for seed in (1, 2):
        config = shape(events=requested, end=END, seed=seed)
        valid = sum(m.kind == "valid" for m in generate(config))
        assert abs(valid - requested) <= 0.1 * requested


def test_no_oversized_message_below_5000_events_or_without_invalid_messages() -> None:
    small = GeneratorConfig(events=2000, end=END, invalid_share=0.01)
    assert not any(m.reason == "oversized" for m in generate(small))
    none = GeneratorConfig(events=5000, end=END, invalid_share=0.0)
    assert not any(m.kind == "invalid" for m in generate(none))


def test_default_end_is_todays_midnight_utc() -> None:
    midnight = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), tzinfo=UTC)
    config = GeneratorConfig(events=1000, days=7, invalid_share=0.0)
    stamps = [datetime.fromisoformat(json.loads(m.value)["occurred_at"]) for m in generate(config)]
    assert max(stamps) < midnight
    assert min(stamps) >= midnight - timedelta(days=7)


def test_about_one_percent_of_events_arrive_late_and_the_rest_in_time_order(
    events: list[dict[str, Any]],
) -> None:
    newest = events[0]["at"]
    late = 0
    previous = events[0]["at"]
    for event in events:
        behind = newest - event["at"]
        if behind > timedelta(hours=20):
            late += 1
            assert behind < timedelta(days=2, hours=1)
            continue
        assert event["at"] >= previous
        previous = event["at"]
        newest = max(newest, event["at"])
    assert 0.005 < late / len(events) < 0.02


@pytest.mark.parametrize(
    "config",
    [
        {"events": 0},
        {"days": 0},
        {"brands": 0},
        {"invalid_share": 1.0},
        {"duplicate_share": -0.1},
        {"micro_lift": 0.0},
        {"preexisting_share": -0.1},
        {"preexisting_share": 1.01},
        {"heavy_engager_share": -0.01},
        {"heavy_engager_share": 2.0},
    ],
)
def test_config_rejects_values_that_cannot_be_generated(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        GeneratorConfig(**config)


def test_default_config_is_greenfield_and_the_brownfield_preset_takes_overrides() -> None:
    assert (GeneratorConfig().preexisting_share, GeneratorConfig().heavy_engager_share) == (0, 0)
    preset = GeneratorConfig.brownfield()
    assert (preset.preexisting_share, preset.heavy_engager_share) == (0.7, 0.05)
    assert preset == GeneratorConfig(preexisting_share=0.7, heavy_engager_share=0.05)
    custom = GeneratorConfig.brownfield(events=5000, heavy_engager_share=0.0, seed=9)
    assert (custom.events, custom.seed, custom.preexisting_share) == (5000, 9, 0.7)
    assert custom.heavy_engager_share == 0.0
    with pytest.raises(ValueError):
        GeneratorConfig.brownfield(preexisting_share=1.5)


# --- world -----------------------------------------------------------------------------------


def test_communities_are_announced_before_anything_else_with_contract_ids(
    events: list[dict[str, Any]], communities: dict[str, dict[str, Any]]
) -> None:
    n = len(communities)
    assert [e["event_type"] for e in events[:n]] == ["community.upserted"] * n
    assert len(of_type(events, "community.upserted")) == n
    for cid, payload in communities.items():
        assert COMMUNITY_ID.match(cid)
        assert cid == f"{payload['brand_id']}.{payload['kind']}.{payload['topic']}"
        assert "member_id" not in events[list(communities).index(cid)]


def test_each_brand_has_two_to_five_micro_and_one_or_two_much_larger_broad_communities(
    events: list[dict[str, Any]], communities: dict[str, dict[str, Any]]
) -> None:
    members = Counter(e["community_id"] for e in of_type(events, "member.joined"))
    brands = sorted({p["brand_id"] for p in communities.values()})
    assert brands == ["brand_1", "brand_2", "brand_3"]
    for brand in brands:
        own = {cid: p["kind"] for cid, p in communities.items() if p["brand_id"] == brand}
        micro = [members[cid] for cid, kind in own.items() if kind == "micro"]
        broad = [members[cid] for cid, kind in own.items() if kind == "broad"]
        assert 2 <= len(micro) <= 5
        assert 1 <= len(broad) <= 2
        assert all(30 <= size <= 250 for size in micro)
        for size in broad:
            assert 10 <= size / statistics.mean(micro) <= 30


def test_member_ids_belong_to_one_community_on_one_platform(events: list[dict[str, Any]]) -> None:
    homes: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for event in events:
        if "member_id" in event:
            homes[event["member_id"]].add((event["community_id"], event["platform"]))
    assert all(len(home) == 1 for home in homes.values())
    assert all(re.fullmatch(r"u\d+", member) for member in homes)
    platforms = {e["platform"] for e in events}
    assert platforms <= {"facebook", "reddit", "discord", "brand_app"}
    assert len(platforms) >= 2


def test_upserts_carry_the_platforms_audience_size_above_the_members_the_stream_shows(
    events: list[dict[str, Any]], brownfield_events: list[dict[str, Any]]
) -> None:
    joins = Counter(e["community_id"] for e in of_type(events, "member.joined"))
    sizes: dict[str, int] = {}
    for event in of_type(events, "community.upserted"):
        payload = event["payload"]
        size = payload["audience_size"]
        assert type(size) is int
        sizes[event["community_id"]] = size
        # Without pre-existing members everyone joins: the joins are the community's full size.
        low, high = (1.1, 1.5) if payload["kind"] == "micro" else (1.5, 3.0)
        members = joins[event["community_id"]]
        assert low * members - 1 <= size <= high * members + 1
    for shape in (events, brownfield_events):
        seen: dict[str, set[str]] = defaultdict(set)
        for event in shape:
            if "member_id" in event:
                seen[event["community_id"]].add(event["member_id"])
        upserts = of_type(shape, "community.upserted")
        assert all(e["payload"]["audience_size"] > len(seen[e["community_id"]]) for e in upserts)
        # Drawn apart from everything else: the same whatever the shares.
        assert {e["community_id"]: e["payload"]["audience_size"] for e in upserts} == sizes


@dataclass
class Membership:
    joined: datetime
    gone: datetime | None = None
    erased: datetime | None = None
    activity: list[datetime] = field(default_factory=list)


def memberships(events: list[dict[str, Any]]) -> dict[str, Membership]:
    members: dict[str, Membership] = {}
    for event in of_type(events, "member.joined"):
        assert event["member_id"] not in members, "joined twice"
        members[event["member_id"]] = Membership(event["at"])
    for event in events:
        if event["event_type"] in ("member.left", "member.erased"):
            member = members[event["member_id"]]
            assert member.gone is None, "left or erased twice"
            member.gone = event["at"]
            if event["event_type"] == "member.erased":
                member.erased = event["at"]
        elif event["event_type"] in ACTIVITY_TYPES:
            members[event["member_id"]].activity.append(event["at"])
    return members


def test_members_act_only_between_joining_and_leaving_or_erasure(
    events: list[dict[str, Any]],
) -> None:
    members = memberships(events)
    assert 0.03 < sum(m.gone is not None for m in members.values()) / len(members) < 0.2
    sources = Counter(e["payload"]["source"] for e in of_type(events, "member.joined"))
    assert set(sources) == {"organic", "invite", "brand_campaign", "search"}
    for member in members.values():
        for at in member.activity:
            assert at > member.joined
            assert member.gone is None or at < member.gone


def test_a_few_members_request_erasure_near_the_end_after_some_activity(
    events: list[dict[str, Any]],
) -> None:
    erased = [m for m in memberships(events).values() if m.erased is not None]
    assert 1 <= len(erased) <= 10
    for member in erased:
        assert member.erased >= END - timedelta(days=3)
        assert any(at < member.erased for at in member.activity)


def regular_members(events: list[dict[str, Any]]) -> set[str]:
    """Everyone with a member id but the staff (who post or comment as brand or moderator)."""
    staff = {
        e["member_id"]
        for e in of_type(events, "post.created", "comment.created")
        if e["payload"]["author_role"] != "member"
    }
    return {e["member_id"] for e in events if "member_id" in e} - staff


def test_with_pre_existing_members_most_regular_members_act_without_ever_joining(
    events: list[dict[str, Any]], brownfield_events: list[dict[str, Any]]
) -> None:
    for shape, low, high in ((events, 0.0, 0.0), (brownfield_events, 0.6, 0.85)):
        joined = {e["member_id"] for e in of_type(shape, "member.joined")}
        acting = {e["member_id"] for e in shape if e["event_type"] in ACTIVITY_TYPES}
        acting &= regular_members(shape)
        assert low <= len(acting - joined) / len(acting) <= high
    # Staff accounts still join first, before anybody acts.
    staff = {
        e["member_id"]
        for e in of_type(brownfield_events, "post.created", "comment.created")
        if e["payload"]["author_role"] != "member"
    }
    assert staff <= {e["member_id"] for e in of_type(brownfield_events, "member.joined")}


def test_pre_existing_members_leave_without_a_join_some_never_seen_before(
    brownfield_events: list[dict[str, Any]],
) -> None:
    joined = {e["member_id"] for e in of_type(brownfield_events, "member.joined")}
    first_seen: dict[str, datetime] = {}
    for event in by_time(brownfield_events):
        if event["event_type"] in ACTIVITY_TYPES:
            first_seen.setdefault(event["member_id"], event["at"])
    leaves = of_type(brownfield_events, "member.left")
    without_join = [e for e in leaves if e["member_id"] not in joined]
    assert len(without_join) > 0.5 * len(leaves)
    never_seen = [e for e in without_join if first_seen[e["member_id"]] == e["at"]]
    assert len(never_seen) >= 5  # their leave is the first thing anyone sees of them
    everyone = {e["member_id"] for e in brownfield_events if "member_id" in e}
    assert 0.03 < len(leaves) / len(everyone) < 0.2


def test_with_pre_existing_members_nobody_acts_before_joining_or_after_leaving(
    brownfield_events: list[dict[str, Any]],
) -> None:
    joined: dict[str, datetime] = {}
    for event in of_type(brownfield_events, "member.joined"):
        assert event["member_id"] not in joined, "joined twice"
        joined[event["member_id"]] = event["at"]
    gone: dict[str, datetime] = {}
    for event in of_type(brownfield_events, "member.left", "member.erased"):
        assert event["member_id"] not in gone, "left or erased twice"
        gone[event["member_id"]] = event["at"]
    erased = {e["member_id"] for e in of_type(brownfield_events, "member.erased")}
    acted: set[str] = set()
    for event in brownfield_events:
        if event["event_type"] not in ACTIVITY_TYPES - {"member.left", "member.erased"}:
            continue
        member = event["member_id"]
        assert member not in joined or event["at"] > joined[member]
        assert member not in gone or event["at"] < gone[member]
        acted.add(member)
    assert erased and erased <= acted


def test_a_community_with_pre_existing_members_has_no_founding_rush(
    events: list[dict[str, Any]], brownfield_events: list[dict[str, Any]]
) -> None:
    def early_share(shape: list[dict[str, Any]]) -> float:
        regular = regular_members(shape)
        joins = [e for e in of_type(shape, "member.joined") if e["member_id"] in regular]
        return sum(e["at"] < END - timedelta(days=58) for e in joins) / len(joins)

    assert 0.25 < early_share(events) < 0.45  # about a third
    assert early_share(brownfield_events) < 0.6 * early_share(events)


def test_a_few_members_make_most_posts_and_comments_and_most_never_do(
    events: list[dict[str, Any]],
) -> None:
    members = {e["member_id"] for e in of_type(events, "member.joined")}
    contributions = Counter(
        e["member_id"] for e in of_type(events, "post.created", "comment.created")
    )
    ranked = sorted((contributions[m] for m in members), reverse=True)
    top = ranked[: math.ceil(len(ranked) / 10)]
    assert sum(top) >= 0.5 * sum(ranked)
    assert sum(1 for count in ranked if count == 0) >= 0.5 * len(ranked)


# --- engagement ------------------------------------------------------------------------------


def membership_changes(events: list[dict[str, Any]]) -> dict[str, list[tuple[datetime, int]]]:
    """Per community, +1/-1 at each start and end of an observed membership.

    The downstream definition: a member's join or first activity starts a membership, a leave
    or erasure ends it, a leave while not a member changes nothing. Where everyone joins before
    acting (the default shape) that is simply the joined minus the left and erased.
    """
    member: set[tuple[str, str]] = set()
    changes: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for event in by_time(e for e in events if "member_id" in e):
        key = (event["community_id"], event["member_id"])
        if event["event_type"] in ("member.left", "member.erased"):
            if key in member:
                member.remove(key)
                changes[event["community_id"]].append((event["at"], -1))
        elif key not in member:
            member.add(key)
            changes[event["community_id"]].append((event["at"], 1))
    return changes


def weekly_lifts(events: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per brand, per ISO week: engagements / (posts x members), micro over broad.

    Engagements are all comments, added reactions and shares (on any target), members the
    observed members at the end of the week (`membership_changes`): the downstream
    definition, no generator internals.
    """
    kinds = {
        e["community_id"]: (e["payload"]["brand_id"], e["payload"]["kind"])
        for e in of_type(events, "community.upserted")
    }
    posts: Counter[tuple[str, tuple[int, int]]] = Counter()
    engagements: Counter[tuple[str, tuple[int, int]]] = Counter()
    changes = membership_changes(events)
    for event in events:
        week = event["at"].isocalendar()[:2]
        key = (event["community_id"], week)
        event_type = event["event_type"]
        if event_type == "post.created":
            posts[key] += 1
        elif event_type in ENGAGEMENT_TYPES:
            engagements[key] += 1
    weeks = sorted({week for _, week in posts})
    lifts: dict[str, list[float]] = defaultdict(list)
    for brand in sorted({brand for brand, _ in kinds.values()}):
        for week in weeks:
            monday = datetime.fromisocalendar(week[0], week[1], 1).replace(tzinfo=UTC)
            week_end = monday + timedelta(days=7)
            totals = {"micro": [0, 0], "broad": [0, 0]}  # engagements, posts x members
            for cid, (owner, kind) in kinds.items():
                if owner != brand:
                    continue
                members = sum(delta for at, delta in changes[cid] if at < week_end)
                totals[kind][0] += engagements[(cid, week)]
                totals[kind][1] += posts[(cid, week)] * members
            if all(exposure for _, exposure in totals.values()):
                micro = totals["micro"][0] / totals["micro"][1]
                broad = totals["broad"][0] / totals["broad"][1]
                if broad:
                    lifts[brand].append(micro / broad)
    return lifts


@pytest.mark.parametrize("shape", ["events", "brownfield_events"])
def test_micro_engagement_rate_per_member_is_about_micro_lift_times_broad(
    shape: str, request: pytest.FixtureRequest
) -> None:
    lifts = weekly_lifts(request.getfixturevalue(shape))
    assert set(lifts) == {"brand_1", "brand_2", "brand_3"}
    for brand_lifts in lifts.values():
        assert len(brand_lifts) >= 8
        assert 3.0 <= statistics.mean(brand_lifts) <= 12.0


@pytest.mark.parametrize("brownfield", [False, True], ids=["default", "brownfield"])
def test_engagement_lift_follows_the_configured_micro_lift(brownfield: bool) -> None:
    shape = GeneratorConfig.brownfield if brownfield else GeneratorConfig
    events = valid_events(generate(shape(events=20_000, end=END, micro_lift=2.5, seed=5)))
    for brand_lifts in weekly_lifts(events).values():
        assert 1.25 <= statistics.mean(brand_lifts) <= 5.0


def engagements_per_member_and_post(events: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """Comments, shares and added reactions per (member, post).

    A reaction to a comment counts for the comment's post; ideas are left out.
    """
    post_of = {
        e["payload"]["comment_id"]: e["payload"]["post_id"]
        for e in of_type(events, "comment.created")
    }
    posts = {e["payload"]["post_id"] for e in of_type(events, "post.created")}
    pairs: Counter[tuple[str, str]] = Counter()
    for event in of_type(events, *ENGAGEMENT_TYPES):
        payload = event["payload"]
        if event["event_type"] != "reaction.added":
            post = payload["post_id"]
        elif payload["target_type"] == "comment":
            post = post_of[payload["target_id"]]
        else:
            post = payload["target_id"]
        if post in posts:  # not an idea
            pairs[(event["member_id"], post)] += 1
    return pairs


def test_heavy_engagers_engage_several_times_with_each_post_they_engage_with(
    events: list[dict[str, Any]], brownfield_events: list[dict[str, Any]]
) -> None:
    def standouts(pairs: Counter[tuple[str, str]]) -> set[str]:
        """Members averaging 2.5+ engagements over 3+ posts they engaged with."""
        per_member: dict[str, list[int]] = defaultdict(list)
        for (member, _), count in pairs.items():
            per_member[member].append(count)
        return {m for m, c in per_member.items() if len(c) >= 3 and statistics.mean(c) >= 2.5}

    plain = engagements_per_member_and_post(events)
    heavy = engagements_per_member_and_post(brownfield_events)
    assert not standouts(plain)
    assert statistics.mean(plain.values()) < 1.05
    found = standouts(heavy)
    assert len(found) >= 5
    theirs = [count for (member, _), count in heavy.items() if member in found]
    assert statistics.mean(theirs) >= 3.0
    others = [count for (member, _), count in heavy.items() if member not in found]
    assert statistics.mean(others) < 1.1
    several = sum(count >= 3 for count in heavy.values())
    assert several >= 50
    assert several >= 5 * sum(count >= 3 for count in plain.values())
    comments = Counter(
        (e["member_id"], e["payload"]["post_id"])
        for e in of_type(brownfield_events, "comment.created")
        if e["member_id"] in found
    )
    assert max(comments.values()) >= 2  # and they comment more than once on a thread


def test_several_reaction_kinds_on_one_target_only_where_the_platform_allows_and_never_twice(
    events: list[dict[str, Any]], brownfield_events: list[dict[str, Any]]
) -> None:
    for shape in (events, brownfield_events):
        kinds: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        platforms: dict[tuple[str, str, str], str] = {}
        for event in of_type(shape, "reaction.added"):
            payload = event["payload"]
            key = (event["member_id"], payload["target_type"], payload["target_id"])
            kinds[key].append(payload["reaction"])
            platforms[key] = event["platform"]
        assert all(len(set(used)) == len(used) for used in kinds.values())
        several = {key for key, used in kinds.items() if len(used) > 1}
        assert {platforms[key] for key in several} <= MULTI_REACTION_PLATFORMS
        if shape is brownfield_events:
            assert len(several) >= 10
            assert {t for _, t, _ in several} <= {"post", "comment"}
        else:
            assert not several


def test_reaction_removals_undo_an_earlier_reaction_of_the_same_member(
    events: list[dict[str, Any]],
) -> None:
    added: set[tuple[str, str, str, str]] = set()
    removed = 0
    for event in by_time(of_type(events, "reaction.added", "reaction.removed")):
        payload = event["payload"]
        target = (payload["target_type"], payload["target_id"], payload["reaction"])
        key = (event["member_id"], *target)
        if event["event_type"] == "reaction.added":
            added.add(key)
        else:
            assert key in added
            added.remove(key)
            removed += 1
    assert 0.01 < removed / len(of_type(events, "reaction.added")) < 0.08
    targets = Counter(e["payload"]["target_type"] for e in of_type(events, "reaction.added"))
    assert set(targets) == {"post", "comment", "idea"}
    assert len({e["payload"]["reaction"] for e in of_type(events, "reaction.added")}) == 6


def test_first_comments_come_minutes_to_hours_after_the_post_and_replies_follow_parents(
    events: list[dict[str, Any]],
) -> None:
    posted = {e["payload"]["post_id"]: e for e in of_type(events, "post.created")}
    comments = {e["payload"]["comment_id"]: e for e in of_type(events, "comment.created")}
    first: dict[str, datetime] = {}
    replies = 0
    for comment in comments.values():
        payload = comment["payload"]
        post = posted.get(payload["post_id"])
        if post is None:
            continue  # a comment on an idea
        assert comment["at"] > post["at"]
        first[post["payload"]["post_id"]] = min(
            first.get(payload["post_id"], comment["at"]), comment["at"]
        )
        if payload.get("parent_comment_id"):
            replies += 1
            parent = comments[payload["parent_comment_id"]]
            assert parent["payload"]["post_id"] == payload["post_id"]
            assert parent["at"] < comment["at"]
    delays = sorted(
        (at - posted[post_id]["at"]).total_seconds() / 60 for post_id, at in first.items()
    )
    deciles = statistics.quantiles(delays, n=10)
    assert deciles[0] < 20  # minutes
    assert deciles[-1] > 120
    assert 0.05 < replies / len(comments) < 0.4


def test_shares_go_both_internal_and_external_and_content_types_vary(
    events: list[dict[str, Any]],
) -> None:
    destinations = Counter(e["payload"]["destination"] for e in of_type(events, "content.shared"))
    assert set(destinations) == {"internal", "external"}
    content = Counter(e["payload"]["content_type"] for e in of_type(events, "post.created"))
    assert set(content) == {"text", "image", "video", "link", "live_class", "event"}
    assert content.most_common(1)[0][1] < 0.6 * sum(content.values())
    assert any(e["payload"].get("tags") for e in of_type(events, "post.created"))


def test_trending_tags_rise_from_nothing_in_every_brand_and_community(
    events: list[dict[str, Any]], communities: dict[str, dict[str, Any]]
) -> None:
    """Each brand's campaign tag is on none of its posts at first, then on a good share of them
    in its peak week, well above the four weeks before (what the topic marts call rising), in
    every community of the brand; each community also has one trend of its own."""
    weekly: Counter[tuple[str, Any]] = Counter()
    campaign: Counter[tuple[str, str, Any]] = Counter()
    campaign_in: defaultdict[str, set[str]] = defaultdict(set)
    own: defaultdict[str, set[str]] = defaultdict(set)
    for post in of_type(events, "post.created"):
        brand = communities[post["community_id"]]["brand_id"]
        week = post["at"].date() - timedelta(days=post["at"].weekday())
        weekly[brand, week] += 1
        for tag in post["payload"].get("tags") or []:
            if tag in CAMPAIGN_TAGS:
                campaign[brand, tag, week] += 1
                campaign_in[post["community_id"]].add(tag)
            elif tag in COMMUNITY_TREND_TAGS:
                own[post["community_id"]].add(tag)
    weeks = sorted({week for _, week in weekly})
    campaigns = {(brand, tag) for brand, tag, _ in campaign}
    brands = {community["brand_id"] for community in communities.values()}
    assert sorted(brand for brand, _ in campaigns) == sorted(brands)
    for brand, tag in campaigns:
        counts = [campaign[brand, tag, week] for week in weeks]
        peak = max(range(len(weeks)), key=counts.__getitem__)
        before = counts[max(0, peak - 4) : peak]
        assert counts[0] == 0 and before, (brand, counts)
        assert counts[peak] >= 0.15 * weekly[brand, weeks[peak]], (brand, counts)
        assert counts[peak] >= 5 and counts[peak] >= 1.5 * sum(before) / len(before)
        brand_communities = [cid for cid, c in communities.items() if c["brand_id"] == brand]
        assert all(campaign_in[cid] == {tag} for cid in brand_communities), brand
    assert set(own) == set(communities)
    assert all(len(tags) == 1 for tags in own.values())


def test_each_brand_has_a_community_where_brand_voice_exceeds_half(
    events: list[dict[str, Any]], communities: dict[str, dict[str, Any]]
) -> None:
    voice: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for event in of_type(events, "post.created", "comment.created"):
        total[event["community_id"]] += 1
        if event["payload"]["author_role"] in ("brand", "moderator"):
            voice[event["community_id"]] += 1
    shares = {cid: voice[cid] / total[cid] for cid in communities}
    for brand in {p["brand_id"] for p in communities.values()}:
        own = [share for cid, share in shares.items() if communities[cid]["brand_id"] == brand]
        assert max(own) > 0.5
        assert min(own) < 0.5
    roles = Counter(e["payload"]["author_role"] for e in of_type(events, "post.created"))
    assert set(roles) == {"member", "brand", "moderator"}


# --- feedback portal -------------------------------------------------------------------------


def test_ideas_collect_votes_revotes_and_status_changes_in_lifecycle_order(
    events: list[dict[str, Any]],
) -> None:
    ideas = {e["payload"]["idea_id"]: e for e in of_type(events, "feedback.submitted")}
    assert len(ideas) >= 50
    assert all(len(e["payload"]["title"]) <= 200 for e in ideas.values())
    assert len({e["payload"]["category"] for e in ideas.values()}) >= 4
    votes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for vote in by_time(of_type(events, "feedback.voted")):
        assert vote["at"] > ideas[vote["payload"]["idea_id"]]["at"]
        votes[(vote["payload"]["idea_id"], vote["member_id"])].append(vote["payload"]["direction"])
    revotes = [history for history in votes.values() if len(history) > 1]
    assert revotes
    assert all(history[0] != history[-1] for history in revotes)
    statuses: dict[str, list[str]] = defaultdict(list)
    for change in by_time(of_type(events, "feedback.status_changed")):
        assert change["payload"]["by_role"] in ("brand", "moderator")
        assert change["at"] > ideas[change["payload"]["idea_id"]]["at"]
        statuses[change["payload"]["idea_id"]].append(change["payload"]["status"])
    allowed = (
        ["under_review"],
        ["under_review", "accepted"],
        ["under_review", "declined"],
        ["under_review", "accepted", "implemented"],
    )
    assert all(history in allowed for history in statuses.values())
    assert {s for history in statuses.values() for s in history} == {
        "under_review",
        "accepted",
        "declined",
        "implemented",
    }
    old = [i for i, e in ideas.items() if e["at"] < END - timedelta(days=21)]
    unanswered = [i for i in old if i not in statuses]
    assert 0.1 < len(unanswered) / len(old) < 0.5


# --- text and sentiment ----------------------------------------------------------------------


def test_about_half_of_texts_carry_text_some_with_sentiment_some_sentiment_only(
    events: list[dict[str, Any]],
) -> None:
    payloads = [
        e["payload"]
        for e in of_type(events, "post.created", "comment.created", "feedback.submitted")
    ]
    with_text = [p for p in payloads if "text" in p]
    both = [p for p in with_text if "sentiment" in p]
    only_sentiment = [p for p in payloads if "sentiment" in p and "text" not in p]
    assert 0.4 < len(with_text) / len(payloads) < 0.6
    assert 0.1 < len(both) / len(with_text) < 0.4
    assert 0.05 < len(only_sentiment) / len(payloads) < 0.25
    assert all(-1 <= p["sentiment"] <= 1 for p in payloads if "sentiment" in p)


def test_vader_finds_positive_neutral_and_negative_texts(events: list[dict[str, Any]]) -> None:
    vader = SentimentIntensityAnalyzer()
    texts = [
        e["payload"]["text"]
        for e in of_type(events, "post.created", "comment.created", "feedback.submitted")
        if "text" in e["payload"]
    ][:2000]
    scores = [vader.polarity_scores(text)["compound"] for text in texts]
    for band in (
        [s for s in scores if s > 0.05],
        [s for s in scores if s < -0.05],
        [s for s in scores if -0.05 <= s <= 0.05],
    ):
        assert len(band) > 0.1 * len(scores)


def test_one_community_per_brand_turns_negative_in_the_last_three_days(
    events: list[dict[str, Any]], communities: dict[str, dict[str, Any]]
) -> None:
    vader = SentimentIntensityAnalyzer()
    spike_from = END - timedelta(days=3)
    before: dict[str, list[float]] = defaultdict(list)
    during: dict[str, list[float]] = defaultdict(list)
    for event in of_type(events, "post.created", "comment.created", "feedback.submitted"):
        score = scored_sentiment(event["payload"], vader)
        if score is not None:
            (during if event["at"] >= spike_from else before)[event["community_id"]].append(score)
    # Small communities say a handful of things in three days: too few to call a trend.
    drops = {
        cid: statistics.mean(before[cid]) - statistics.mean(during[cid])
        for cid in communities
        if len(during[cid]) >= 15
    }
    for brand in {p["brand_id"] for p in communities.values()}:
        own = sorted(
            (drop for cid, drop in drops.items() if communities[cid]["brand_id"] == brand),
            reverse=True,
        )
        assert own[0] > 0.5
        assert all(drop < 0.45 for drop in own[1:])
