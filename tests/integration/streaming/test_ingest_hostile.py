"""Hostile values on the real broker, among valid events: the consumer does not crash, every valid
event is stored, and every hostile message is a dead letter with the right reason, in Postgres and
on the DLQ topic (docs/contracts.md, "Ingest": NUL characters and invalid UTF-8 must not crash the
loader; values over 1 MiB are `oversized`).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.ingest import (
    MIB,
    assert_stored_exactly,
    expect_from_labels,
    in_process_config,
    produce_exactly,
    read_topic,
    stored,
)

from pulse.local.generator import GeneratorConfig, generate
from pulse.settings import Settings
from streaming.consumer import IngestConsumer
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "ingest" / "valid_events.jsonl"
EXAMPLES: dict[str, dict[str, Any]] = {
    event["event_type"]: event
    for event in (json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip())
}
KEY = b"acme.micro.plant_care"


def _event(event_type: str, /, **envelope: Any) -> dict[str, Any]:
    """A fixture example with a fresh event id, envelope fields replaced."""
    event = copy.deepcopy(EXAMPLES[event_type])
    event["event_id"] = str(uuid.uuid4())
    event.update(envelope)
    return event


def _with_payload(event_type: str, **payload: Any) -> dict[str, Any]:
    event = _event(event_type)
    event["payload"].update(payload)
    return event


def _json(event: Any) -> bytes:
    return json.dumps(event).encode()


def _padded(size: int) -> bytes:
    """A valid event, padded with an unknown field to exactly `size` bytes."""
    value = _json(_event("member.joined", pad=""))
    return value[:-2] + b"p" * (size - len(value)) + value[-2:]


# (name, key, value, headers, expected): expected is "valid" or the dead-letter reason.
Case = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]], str]
VALID, JSON, UTF8, SIZE = "valid", "invalid_json", "invalid_utf8", "oversized"
SCHEMA, TYPE, FUTURE = "schema_violation", "unknown_event_type", "future_timestamp"


def case(
    name: str,
    value: bytes | None,
    expected: str,
    key: bytes | None = KEY,
    headers: list[tuple[str, bytes]] | None = None,
) -> Case:
    return (name, key, value, headers or [], expected)


def hostile_cases() -> list[Case]:
    joined = _json(_event("member.joined"))
    left = _json(_event("member.left"))
    no_member = _event("member.joined")
    del no_member["member_id"]
    return [
        # NUL characters: refused in stored strings, harmless in free text and unknown fields.
        case("nul in member_id", _json(_event("member.joined", member_id="u\x001")), SCHEMA),
        case("nul in community_id", _json(_event("member.left", community_id="c\x00")), SCHEMA),
        case("nul in title", _json(_with_payload("feedback.submitted", title="a\x00")), SCHEMA),
        case("nul in a tag", _json(_with_payload("post.created", tags=["\x00"])), SCHEMA),
        case("nul in text", _json(_with_payload("post.created", text="great\x00news")), VALID),
        case("nul in unknown field", _json(_event("member.left", extra="\x00\x00")), VALID),
        case("raw nul byte in a string", joined.replace(b'"u1001"', b'"u\x001"'), JSON),
        case("lone surrogate in member_id", left.replace(b'"u1002"', b'"\\udc00"'), SCHEMA),
        # Bytes that are not UTF-8, in the value and in the key.
        case("invalid utf-8", left.replace(b"u1002", b"\xff\xfe"), UTF8),
        case("utf-8 encoded surrogate", left.replace(b"u1002", b"\xed\xa0\x80"), UTF8),
        case("key not utf-8, value broken", b'{"event_id": ', JSON, key=b"\xff\x00\xfe"),
        case("key not utf-8, value valid", _json(_event("member.joined")), VALID, key=b"\xff"),
        # Size.
        case("exactly 1 MiB", _padded(MIB), VALID),
        case("1 MiB and a byte", _padded(MIB + 1), SIZE),
        case("2 MiB value", _padded(2 * MIB), SIZE),
        case("2 MiB of garbage", b"\xff" * (2 * MIB), SIZE),
        # Structure.
        case("nested 100k arrays", b"[" * 100_000 + b"]" * 100_000, JSON),
        case("nested 100k objects", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, JSON),
        case("empty value", b"", JSON),
        case("none value", None, JSON),
        case("array", b"[1, 2]", SCHEMA),
        case("string", b'"member.joined"', SCHEMA),
        case("number", b"42", SCHEMA),
        case("null", b"null", SCHEMA),
        case("NaN", joined.replace(b'"schema_version": 1', b'"schema_version": NaN'), JSON),
        case("5000-digit number", b"9" * 5000, JSON),
        # Wrong types.
        case("member_id a number", _json(_event("member.joined", member_id=12345)), SCHEMA),
        case("member_id an object", _json(_event("member.joined", member_id={"id": 1})), SCHEMA),
        case("payload a list", _json(_event("member.left", payload=[])), SCHEMA),
        case("sentiment a word", _json(_with_payload("comment.created", sentiment="good")), SCHEMA),
        case("occurred_at epoch", _json(_event("member.left", occurred_at=1_777_000_000)), SCHEMA),
        case("schema_version true", _json(_event("member.left", schema_version=True)), SCHEMA),
        case("member_id missing", _json(no_member), SCHEMA),
        # Time and type.
        case(
            "year 9999", _json(_event("post.created", occurred_at="9999-12-31T23:59:59Z")), FUTURE
        ),
        case(
            "year 9999 at -05:00",
            _json(_event("post.created", occurred_at="9999-12-31T23:00:00-05:00")),
            FUTURE,
        ),
        case("unknown event type", _json(_event("post.created", event_type="post.deleted")), TYPE),
        # Headers: kept, except forged pulse.* ones.
        case("forged header", b"{", JSON, headers=[("pulse.error.reason", b"x"), ("t", b"\xff")]),
    ]


def test_hostile_values_become_dead_letters_and_every_valid_event_is_stored(
    settings: Settings,
) -> None:
    assert settings.kafka_bootstrap is not None
    ensure_topics(settings.kafka_bootstrap, pipeline_topics(settings))
    generated = [
        m
        for m in generate(GeneratorConfig(seed=11, events=300, invalid_share=0, duplicate_share=0))
    ]
    cases = hostile_cases()
    # Hostile messages spread among valid ones, each labelled with what ingest must make of it.
    plan: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]], str, str | None]] = []
    valid_iter = iter(generated)
    for name, key, value, headers, expected in cases:
        for _ in range(5):
            message = next(valid_iter)
            plan.append((message.key, message.value, [], "valid", message.event_id))
        event_id = json.loads(value)["event_id"] if expected == "valid" and value else None
        plan.append((key, value, headers, expected, event_id or name))
    for message in valid_iter:
        plan.append((message.key, message.value, [], "valid", message.event_id))
    for event in EXAMPLES.values():
        plan.append((event["community_id"].encode(), _json(event), [], "valid", event["event_id"]))

    positions = produce_exactly(
        settings.kafka_bootstrap,
        settings.events_topic,
        [(key, value, headers) for key, value, headers, _, _ in plan],
    )
    labels = {}
    for position, (_, _, _, expected, label) in zip(positions, plan, strict=True):
        if expected == "valid":
            labels[position] = ("valid", label, None)
        else:
            labels[position] = ("invalid", None, expected)
    records = read_topic(settings.kafka_bootstrap, settings.events_topic, expected=len(plan))
    expected = expect_from_labels(records, labels)

    report = IngestConsumer(in_process_config(settings, stop_when_idle_s=2.0)).run()

    actual = stored(
        settings.pg_dsn.get_secret_value(),  # type: ignore[union-attr]
        settings.consumer_group,
        settings.events_topic,
    )
    assert_stored_exactly(actual, expected)
    assert report.messages == len(plan)
    reasons = Counter(e for _, _, _, _, e in cases if e != "valid")
    assert Counter(actual.dead_letters.values()) == reasons
    assert report.dead_letters_by_reason == dict(reasons)

    # The DLQ topic: every hostile message once, original key and value, right reason.
    dlq = read_topic(settings.kafka_bootstrap, settings.dlq_topic, expected=sum(reasons.values()))
    assert len(dlq) == sum(reasons.values())
    by_source = {}
    for message in dlq:
        headers = dict(message.headers)
        position = (int(headers["pulse.source.partition"]), int(headers["pulse.source.offset"]))
        by_source[position] = message
        original = expected.records[position]
        assert (message.key, message.value) == (original.key, original.value)
        assert headers["pulse.error.reason"].decode() == expected.dead_letters[position]
        assert headers["pulse.source.topic"] == settings.events_topic.encode()
    assert set(by_source) == set(expected.dead_letters)
    forged = [m for m in dlq if ("t", b"\xff") in m.headers]
    assert len(forged) == 1
    assert [v for k, v in forged[0].headers if k == "pulse.error.reason"] == [b"invalid_json"]
