"""The inbound contract of `community.events.v1` (docs/contracts.md), model by model.

Pure: pydantic only. The examples are `tests/fixtures/ingest/valid_events.jsonl`, one per type.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from streaming.contracts import EVENT_TYPES, INBOUND_ADAPTER, TYPES_WITHOUT_MEMBER
from streaming.redact import normalized_platform

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "ingest" / "valid_events.jsonl"
EXAMPLES: dict[str, dict[str, Any]] = {
    event["event_type"]: event
    for event in (json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip())
}


def example(event_type: str, /, **envelope: Any) -> dict[str, Any]:
    """A deep copy of the fixture's example of `event_type`, with envelope fields replaced."""
    event = copy.deepcopy(EXAMPLES[event_type])
    event.update(envelope)
    return event


def with_payload(event_type: str, /, **payload: Any) -> dict[str, Any]:
    event = example(event_type)
    event["payload"].update(payload)
    return event


def validate(event: Any) -> Any:
    return INBOUND_ADAPTER.validate_json(json.dumps(event))


def rejected(event: Any) -> bool:
    try:
        validate(event)
    except ValidationError:
        return True
    return False


def test_the_fixture_has_one_example_per_event_type_of_the_design() -> None:
    assert set(EXAMPLES) == EVENT_TYPES
    assert len(EVENT_TYPES) == 12


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_example_validates_to_its_own_model(event_type: str) -> None:
    event = validate(EXAMPLES[event_type])
    assert event.event_type == event_type
    assert str(event.event_id) == EXAMPLES[event_type]["event_id"]
    assert event.occurred_at.utcoffset() is not None


def test_unknown_envelope_and_payload_fields_are_ignored() -> None:
    event = with_payload("post.created", future_payload_field={"nested": [1, 2]})
    event["trace_id"] = "abc"
    event["schema_extensions"] = {"anything": None}
    parsed = validate(event)
    assert not hasattr(parsed, "trace_id")
    assert "future_payload_field" not in parsed.payload.model_dump()


@pytest.mark.parametrize("event_type", ["post.deleted", "", "POST.CREATED", "post.created "])
def test_unknown_event_type_is_rejected(event_type: str) -> None:
    assert rejected(example("post.created", event_type=event_type))


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES - TYPES_WITHOUT_MEMBER))
def test_member_id_is_required_for_every_type_but_community_upserted(event_type: str) -> None:
    event = example(event_type)
    del event["member_id"]
    assert rejected(event)
    assert rejected(example(event_type, member_id=None))


def test_community_upserted_needs_no_member_id() -> None:
    assert validate(example("community.upserted")).member_id is None


def test_required_envelope_fields_are_required() -> None:
    for field in ("event_id", "event_type", "schema_version", "occurred_at", "community_id"):
        event = example("member.joined")
        del event[field]
        assert rejected(event), field
    event = example("member.left")
    del event["payload"]
    assert rejected(event)


def test_platform_is_optional() -> None:
    event = example("member.joined")
    del event["platform"]
    assert validate(event).platform is None


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("discord", "discord"),
        ("Discord", "discord"),
        ("  REDDIT\t", "reddit"),
        ("Brand_App", "brand_app"),
    ],
)
def test_platform_is_trimmed_and_lower_cased(sent: str, stored: str) -> None:
    # The platform is part of the member key: one member, one platform, one key.
    assert validate(example("member.joined", platform=sent)).platform == stored


@pytest.mark.parametrize(
    "platform", ["a:b", ":", "discord:", "   ", "\t", "dis\tcord", "discord\x1f", "\x7f"], ids=repr
)
def test_platform_with_the_key_separator_a_control_character_or_blank_is_rejected(
    platform: str,
) -> None:
    # "a:b" + "c" and "a" + "b:c" would give the same "platform:member_id" text.
    assert rejected(example("member.joined", platform=platform))


# Characters where trimming or lower-casing could differ between pydantic-core (Rust) and Python:
# Unicode spaces, the separators Python's str.strip trims and Rust's trim does not (\x1c-\x1f),
# letters whose lower case is longer or depends on position, a zero-width character.
_PLATFORM_CHARACTERS = st.sampled_from(
    list(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u3000\u180e\u200b")
    + list("aZ:_-.9\u0130\u03a3\u03c3\u03c2\u01c5\u1e9e\xdf\xc5")  # dotted I, sigmas, dz, sharp s
)


@given(st.text(_PLATFORM_CHARACTERS, max_size=12))
def test_a_stored_platform_is_what_python_would_make_of_it(sent: str) -> None:
    # The member key hashes the stored platform, and dead letters compute theirs in Python
    # (streaming/redact.py): both must agree for every platform the contract accepts.
    try:
        stored = validate(example("member.joined", platform=sent)).platform
    except ValidationError:
        return
    assert stored == sent.strip().lower() == normalized_platform(sent)


@pytest.mark.parametrize(
    "community_id", ["a", "Brand_1.micro:plant-care", "x" * 64], ids=["one", "mixed", "64"]
)
def test_community_id_of_allowed_characters_and_length_is_valid(community_id: str) -> None:
    assert validate(example("member.joined", community_id=community_id))


@pytest.mark.parametrize(
    "community_id",
    ["", "x" * 65, "plant care", "plant/care", "plänt", "c1\n", "c1\x00"],
    ids=["empty", "65", "space", "slash", "non-ascii", "newline", "nul"],
)
def test_community_id_outside_the_pattern_is_rejected(community_id: str) -> None:
    assert rejected(example("member.joined", community_id=community_id))


@pytest.mark.parametrize(
    ("field", "maximum"), [("member_id", 128), ("platform", 32)], ids=["member_id", "platform"]
)
def test_envelope_string_lengths_are_bounded(field: str, maximum: int) -> None:
    assert validate(example("member.joined", **{field: "m" * maximum}))
    assert rejected(example("member.joined", **{field: "m" * (maximum + 1)}))
    assert rejected(example("member.joined", **{field: ""}))


@pytest.mark.parametrize(
    "version",
    [0, 2, -1, "1", None, 1.0, True],
    ids=["0", "2", "-1", "str", "null", "float", "bool"],  # 1.0 and true are no integer 1
)
def test_schema_version_other_than_1_is_rejected(version: Any) -> None:
    assert rejected(example("member.joined", schema_version=version))


_JSON_SCALARS = st.one_of(
    st.integers(),
    st.integers(-3, 3).map(float),  # integral floats: JSON 1.0 is the shape that got through
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
)


@given(_JSON_SCALARS)
def test_schema_version_is_only_ever_the_json_integer_1(version: Any) -> None:
    # Found: a strict Literal[1] also took 1.0 (and true), since 1.0 == True == 1 in Python.
    is_integer_one = type(version) is int and version == 1
    assert rejected(example("member.joined", schema_version=version)) is not is_integer_one


@pytest.mark.parametrize(
    "event_id",
    ["", "not-a-uuid", "10000000-0000-4000-8000-00000000000", 12345, None],
    ids=["empty", "text", "short", "number", "null"],
)
def test_event_id_must_be_a_uuid(event_id: Any) -> None:
    assert rejected(example("member.joined", event_id=event_id))


@pytest.mark.parametrize(
    "occurred_at",
    ["2026-05-01T08:00:00", "2026-05-01", "yesterday", "2026-13-01T00:00:00Z", ""],
    ids=["naive", "date", "word", "month-13", "empty"],
)
def test_occurred_at_must_be_a_timestamp_with_offset(occurred_at: str) -> None:
    assert rejected(example("member.joined", occurred_at=occurred_at))


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-05-01T08:00:00Z",
        "2026-05-01T08:00:00.5-05:30",
        "2026-05-01T08:00:00+14:00",
        "2026-05-01t08:00:00z",  # RFC 3339 allows both letters in lower case
        "2026-05-01 08:00:00+00:00",  # and a space for the T
        "1970-01-01T00:30:00-01:00",  # 01:30 UTC: after the epoch
    ],
)
def test_occurred_at_with_any_offset_is_valid(occurred_at: str) -> None:
    assert validate(example("member.joined", occurred_at=occurred_at)).occurred_at.tzinfo


@pytest.mark.parametrize(
    "occurred_at",
    [
        "1970-01-01T00:30:00+01:00",  # 1969-12-31T23:30Z: the bound compares instants
        "1969-12-31T23:59:59Z",
        "0001-01-01T00:00:00+05:00",
        "2026-02-30T00:00:00Z",
        "2026-05-01T24:00:00Z",
        "2026-05-01T08:00:60Z",
        "2026-05-01T08:00:00+24:00",
        "2026-05-01T08:00Z",
        "2026-05-01T08:00:00+0100",
    ],
)
def test_occurred_at_before_1970_or_that_does_not_exist_is_rejected(occurred_at: str) -> None:
    assert rejected(example("member.joined", occurred_at=occurred_at))


# Strings that reach the warehouse may not hold NUL (PostgreSQL text/jsonb cannot store it).
NUL_IN_STORED_FIELDS = [
    ("member.joined", "member_id", None),
    ("member.joined", "platform", None),
    ("post.created", "payload", "post_id"),
    ("post.created", "payload", "tags"),
    ("comment.created", "payload", "parent_comment_id"),
    ("community.upserted", "payload", "name"),
    ("community.upserted", "payload", "brand_id"),
    ("community.upserted", "payload", "topic"),
    ("reaction.added", "payload", "target_id"),
    ("feedback.submitted", "payload", "title"),
    ("feedback.submitted", "payload", "category"),
    ("feedback.status_changed", "payload", "idea_id"),
]


@pytest.mark.parametrize(
    ("event_type", "where", "field"),
    NUL_IN_STORED_FIELDS,
    ids=[f"{t}:{f or w}" for t, w, f in NUL_IN_STORED_FIELDS],
)
def test_nul_character_in_a_stored_string_is_rejected(
    event_type: str, where: str, field: str | None
) -> None:
    event = example(event_type)
    if field is None:
        event[where] = "abc\x00def"
    elif field == "tags":
        event["payload"]["tags"] = ["ok", "bad\x00tag"]
    else:
        event["payload"][field] = "abc\x00def"
    assert rejected(event)


@pytest.mark.parametrize("event_type", ["post.created", "comment.created", "feedback.submitted"])
def test_nul_character_in_free_text_is_accepted(event_type: str) -> None:
    # Free text is only scored and then dropped, so it never reaches PostgreSQL.
    assert validate(with_payload(event_type, text="fine\x00text")).payload.text == "fine\x00text"


@pytest.mark.parametrize("event_type", ["post.created", "comment.created", "feedback.submitted"])
def test_free_text_is_at_most_10000_characters(event_type: str) -> None:
    assert validate(with_payload(event_type, text="t" * 10_000))
    assert rejected(with_payload(event_type, text="t" * 10_001))


@pytest.mark.parametrize("sentiment", [-1, -1.0, 0, 0.3, 1, 1.0])
def test_sentiment_within_minus_one_and_one_is_valid(sentiment: float) -> None:
    assert (
        validate(with_payload("post.created", sentiment=sentiment)).payload.sentiment == sentiment
    )


@pytest.mark.parametrize("sentiment", [-1.0001, 1.0001, 5, -100])
def test_sentiment_outside_minus_one_and_one_is_rejected(sentiment: float) -> None:
    assert rejected(with_payload("comment.created", sentiment=sentiment))


def test_at_most_20_tags_of_at_most_64_characters() -> None:
    assert validate(with_payload("post.created", tags=[f"t{i}" for i in range(20)]))
    assert rejected(with_payload("post.created", tags=[f"t{i}" for i in range(21)]))
    assert validate(with_payload("post.created", tags=["x" * 64]))
    assert rejected(with_payload("post.created", tags=["x" * 65]))


def test_feedback_title_is_at_most_200_characters() -> None:
    assert validate(with_payload("feedback.submitted", title="t" * 200))
    assert rejected(with_payload("feedback.submitted", title="t" * 201))


ENUMS = [
    ("community.upserted", "kind", "tiny"),
    ("community.upserted", "visibility", "secret"),
    ("member.joined", "source", "ads"),
    ("post.created", "author_role", "admin"),
    ("post.created", "content_type", "gif"),
    ("comment.created", "author_role", "bot"),
    ("reaction.added", "target_type", "member"),
    ("reaction.removed", "reaction", "wow"),
    ("content.shared", "destination", "elsewhere"),
    ("feedback.voted", "direction", "sideways"),
    ("feedback.status_changed", "status", "done"),
    ("feedback.status_changed", "by_role", "member"),
]


@pytest.mark.parametrize(
    ("event_type", "field", "value"), ENUMS, ids=[f"{t}:{f}" for t, f, _ in ENUMS]
)
def test_enumerated_payload_field_rejects_values_outside_the_design(
    event_type: str, field: str, value: str
) -> None:
    assert rejected(with_payload(event_type, **{field: value}))


@pytest.mark.parametrize(
    ("event_type", "field"),
    [
        ("community.upserted", "brand_id"),
        ("member.joined", "source"),
        ("post.created", "post_id"),
        ("comment.created", "comment_id"),
        ("reaction.added", "reaction"),
        ("content.shared", "destination"),
        ("feedback.submitted", "title"),
        ("feedback.voted", "direction"),
        ("feedback.status_changed", "by_role"),
    ],
)
def test_required_payload_field_is_required(event_type: str, field: str) -> None:
    event = example(event_type)
    del event["payload"][field]
    assert rejected(event)


# A value of the wrong JSON type is a schema violation: the contract types are JSON types
# (docs/contracts.md: `occurred_at` is RFC 3339 text, `schema_version` an integer, `sentiment` a
# number).
WRONG_TYPES = [
    ("member_id as number", "member.joined", {"member_id": 12345}, None),
    ("member_id as object", "member.joined", {"member_id": {"id": "u1"}}, None),
    ("member_id as list", "member.joined", {"member_id": ["u1"]}, None),
    ("event_id as number", "member.joined", {"event_id": 7}, None),
    ("community_id as number", "member.joined", {"community_id": 7}, None),
    ("platform as bool", "member.joined", {"platform": True}, None),
    ("payload as list", "member.joined", {"payload": ["organic"]}, None),
    ("payload as string", "member.joined", {"payload": "organic"}, None),
    ("payload as null", "member.left", {"payload": None}, None),
    ("tags as string", "post.created", None, {"tags": "a,b"}),
    ("text as number", "post.created", None, {"text": 42}),
    ("sentiment as word", "post.created", None, {"sentiment": "very positive"}),
    ("post_id as number", "post.created", None, {"post_id": 1}),
    # RFC 3339 is a string; a number would be read as epoch seconds *or* milliseconds.
    ("occurred_at as epoch seconds", "member.joined", {"occurred_at": 1_777_000_000}, None),
    ("occurred_at as epoch millis", "member.joined", {"occurred_at": 1_777_000_000_000}, None),
    ("occurred_at as numeric string", "member.joined", {"occurred_at": "1777000000"}, None),
    ("schema_version as bool", "member.joined", {"schema_version": True}, None),
    ("sentiment as numeric string", "post.created", None, {"sentiment": "0.5"}),
    ("sentiment as bool", "post.created", None, {"sentiment": True}),
]


@pytest.mark.parametrize(
    ("event_type", "envelope", "payload"),
    [case[1:] for case in WRONG_TYPES],
    ids=[case[0] for case in WRONG_TYPES],
)
def test_value_of_the_wrong_json_type_is_rejected(
    event_type: str, envelope: dict[str, Any] | None, payload: dict[str, Any] | None
) -> None:
    event = example(event_type, **(envelope or {}))
    event["payload"] = event["payload"] if payload is None else {**event["payload"], **payload}
    assert rejected(event)


# `community.upserted` may carry the platform's own member/follower count (optional).
def test_community_upserted_without_audience_size_is_valid() -> None:
    event = example("community.upserted")
    assert "audience_size" not in event["payload"]
    assert validate(event).payload.audience_size is None


@pytest.mark.parametrize(
    "audience_size",
    [0, 1, 3_000_000_000, 2**53 - 1, None],
    ids=["zero", "one", "beyond-int32", "largest", "null"],
)
def test_audience_size_of_a_non_negative_integer_is_valid(audience_size: int | None) -> None:
    event = with_payload("community.upserted", audience_size=audience_size)
    assert validate(event).payload.audience_size == audience_size


# Strict like every number of the contract; above 2^53 - 1 JSON readers lose digits (and
# PostgreSQL's bigint, where staging casts it, ends at 2^63 - 1).
BAD_AUDIENCE_SIZES = [
    ("negative", -1),
    ("true", True),
    ("false", False),
    ("fraction", 1.5),
    ("float", 12.0),
    ("numeric string", "12"),
    ("above 2^53 - 1", 2**53),
    ("list", [12]),
    ("object", {"count": 12}),
]


@pytest.mark.parametrize(
    "audience_size", [v for _, v in BAD_AUDIENCE_SIZES], ids=[i for i, _ in BAD_AUDIENCE_SIZES]
)
def test_audience_size_that_is_not_a_non_negative_json_integer_is_rejected(
    audience_size: Any,
) -> None:
    assert rejected(with_payload("community.upserted", audience_size=audience_size))


def _python_validators(schema: Any) -> list[str]:
    """The core schema types that call back into Python ("function-before", "function-after",
    "function-wrap", "function-plain" and model validators), anywhere in `schema`."""
    found = []
    if isinstance(schema, dict):
        if str(schema.get("type", "")).startswith("function"):
            found.append(schema["type"])
        for value in schema.values():
            found += _python_validators(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _python_validators(value)
    return found


def test_the_inbound_contract_is_checked_without_calling_python() -> None:
    # Each Python validator is a call out of pydantic-core for every event: together they took a
    # quarter of validation's time on the consumer's hot path (README, "Benchmarks").
    assert _python_validators(INBOUND_ADAPTER.core_schema) == []


@pytest.mark.parametrize("event_type", ["post.created", "comment.created", "feedback.submitted"])
def test_free_text_and_sent_sentiment_are_not_serialised_with_the_payload(event_type: str) -> None:
    # The payload column is the payload's serialisation (streaming/decode.py): privacy.
    payload = validate(with_payload(event_type, text="my email is x@y.z", sentiment=0.5)).payload
    assert (payload.text, payload.sentiment) == ("my email is x@y.z", 0.5)
    assert set(json.loads(payload.model_dump_json())).isdisjoint({"text", "sentiment"})
