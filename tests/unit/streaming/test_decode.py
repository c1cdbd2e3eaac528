"""`Decoder.decode`: one Kafka record in, an EventRow or a DeadLetter out, never an exception.

Pure: no broker, no database. Checks pseudonymization, the text/sentiment rule, every dead-letter
reason of docs/contracts.md ("Ingest") and hostile input that must not crash the loader.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from streaming.decode import MAX_VALUE_BYTES, REASONS, DeadLetter, Decoder, EventRow
from streaming.privacy import Pseudonymizer

KEY = "unit-test-pseudonym-key"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TOPIC = "community.events.v1"
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "ingest" / "valid_events.jsonl"
EXAMPLES: dict[str, dict[str, Any]] = {
    event["event_type"]: event
    for event in (json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip())
}
MIB = 1024 * 1024


def member_key(platform: str | None, member_id: str) -> str:
    """docs/contracts.md: HMAC-SHA256(PULSE_PSEUDONYM_KEY, "platform:member_id"), hex."""
    message = f"{platform or ''}:{member_id}".encode()
    return hmac.new(KEY.encode(), message, hashlib.sha256).hexdigest()


def member_ref(member_id: str) -> str:
    """docs/contracts.md: HMAC-SHA256(HMAC-SHA256(key, "member-ref"), member_id), hex."""
    sub_key = hmac.new(KEY.encode(), b"member-ref", hashlib.sha256).digest()
    return hmac.new(sub_key, member_id.encode(), hashlib.sha256).hexdigest()


def vader(text: str) -> float:
    return SentimentIntensityAnalyzer().polarity_scores(text)["compound"]


def example(event_type: str, /, **envelope: Any) -> dict[str, Any]:
    event = copy.deepcopy(EXAMPLES[event_type])
    event.update(envelope)
    return event


def encode(event: Any) -> bytes:
    return json.dumps(event).encode()


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder(Pseudonymizer(KEY), timedelta(minutes=5))


def decode(
    decoder: Decoder,
    value: bytes | None,
    key: bytes | None = b"acme.micro.plant_care",
    headers: list[tuple[str, bytes]] | None = None,
) -> EventRow | DeadLetter:
    return decoder.decode(TOPIC, 2, 4711, key, value, headers, NOW)


def dead_letter(decoder: Decoder, value: bytes | None, reason: str) -> DeadLetter:
    result = decode(decoder, value)
    assert isinstance(result, DeadLetter), f"expected a {reason} dead letter, got {result!r}"
    assert result.reason == reason, result.detail
    assert result.detail
    assert "\x00" not in result.detail
    result.detail.encode("utf-8")  # no lone surrogates: PostgreSQL must be able to store it
    return result


# -- valid events ------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_valid_example_of_every_event_type_decodes_to_an_event_row(
    decoder: Decoder, event_type: str
) -> None:
    sent = EXAMPLES[event_type]
    row = decode(decoder, encode(sent))
    assert isinstance(row, EventRow)
    assert row.event_id == sent["event_id"]
    assert row.event_type == event_type
    assert row.schema_version == 1
    assert row.occurred_at == datetime.fromisoformat(sent["occurred_at"])
    assert row.community_id == sent["community_id"]
    assert row.platform == sent["platform"]
    assert (row.source_partition, row.source_offset) == (2, 4711)
    if "member_id" in sent:
        assert row.member_key == member_key(sent["platform"], sent["member_id"])
    else:
        assert row.member_key is None
    # The payload is stored as sent, minus free text and sentiment.
    expected = {k: v for k, v in sent["payload"].items() if k not in ("text", "sentiment")}
    assert json.loads(row.payload_json) == expected


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_no_member_id_and_no_text_are_left_in_a_row(decoder: Decoder, event_type: str) -> None:
    sent = example(event_type)
    sent["payload"].pop("text", None)
    sent["member_id"] = "PLANTED-MEMBER-ID"
    if event_type in ("post.created", "comment.created", "feedback.submitted"):
        sent["payload"]["text"] = "PLANTED-TEXT is great"
    row = decode(decoder, encode(sent))
    assert isinstance(row, EventRow)
    stored = repr(row.copy_row(TOPIC))
    assert "PLANTED" not in stored
    assert row.member_key == member_key(sent["platform"], "PLANTED-MEMBER-ID")


def test_member_key_is_the_hmac_of_platform_and_member_id(decoder: Decoder) -> None:
    row = decode(decoder, encode(example("member.joined", member_id="u42", platform="reddit")))
    assert isinstance(row, EventRow)
    assert row.member_key == member_key("reddit", "u42")
    assert len(row.member_key) == 64
    assert row.member_key != member_key("discord", "u42"), "the platform is part of the key"


def test_member_key_without_platform_uses_an_empty_platform(decoder: Decoder) -> None:
    event = example("member.joined", member_id="u42")
    del event["platform"]
    row = decode(decoder, encode(event))
    assert isinstance(row, EventRow)
    assert row.member_key == member_key(None, "u42")


def test_member_key_depends_on_the_pseudonym_key(decoder: Decoder) -> None:
    other = Decoder(Pseudonymizer("another-key"), timedelta(minutes=5))
    value = encode(example("member.joined"))
    mine, theirs = decode(decoder, value), decode(other, value)
    assert isinstance(mine, EventRow)
    assert isinstance(theirs, EventRow)
    assert mine.member_key != theirs.member_key


def test_sentiment_comes_from_vader_when_only_text_is_sent(decoder: Decoder) -> None:
    sent = EXAMPLES["post.created"]
    text = sent["payload"]["text"]
    assert "sentiment" not in sent["payload"]
    row = decode(decoder, encode(sent))
    assert isinstance(row, EventRow)
    assert row.sentiment_source == "vader"
    assert row.sentiment == pytest.approx(vader(text))
    assert row.sentiment > 0.5, "an enthusiastic text scores positive"
    assert row.text_length == len(text)


def test_sent_sentiment_is_kept_even_when_text_disagrees(decoder: Decoder) -> None:
    sent = EXAMPLES["comment.created"]  # negative text, sentiment 0.25 sent
    row = decode(decoder, encode(sent))
    assert isinstance(row, EventRow)
    assert (row.sentiment, row.sentiment_source) == (0.25, "sent")
    assert row.text_length == len(sent["payload"]["text"])


def test_sent_sentiment_without_text_is_kept(decoder: Decoder) -> None:
    row = decode(decoder, encode(EXAMPLES["feedback.submitted"]))
    assert isinstance(row, EventRow)
    assert (row.sentiment, row.sentiment_source, row.text_length) == (-0.5, "sent", None)


def test_sent_sentiment_of_zero_is_kept_not_recomputed(decoder: Decoder) -> None:
    event = example("post.created")
    event["payload"]["sentiment"] = 0
    row = decode(decoder, encode(event))
    assert isinstance(row, EventRow)
    assert (row.sentiment, row.sentiment_source) == (0, "sent")


def test_no_text_and_no_sentiment_gives_no_sentiment(decoder: Decoder) -> None:
    event = example("post.created")
    del event["payload"]["text"]
    row = decode(decoder, encode(event))
    assert isinstance(row, EventRow)
    assert (row.sentiment, row.sentiment_source, row.text_length) == (None, None, None)


@pytest.mark.parametrize(
    "event_type", sorted(set(EXAMPLES) - {"post.created", "comment.created", "feedback.submitted"})
)
def test_event_types_without_text_carry_no_sentiment(decoder: Decoder, event_type: str) -> None:
    row = decode(decoder, encode(EXAMPLES[event_type]))
    assert isinstance(row, EventRow)
    assert (row.sentiment, row.sentiment_source, row.text_length) == (None, None, None)


def test_text_with_nul_characters_is_scored_and_dropped(decoder: Decoder) -> None:
    event = example("comment.created")
    event["payload"] = {**event["payload"], "text": "great\x00 and\x00 helpful"}
    del event["payload"]["sentiment"]
    row = decode(decoder, encode(event))
    assert isinstance(row, EventRow)
    assert row.sentiment_source == "vader"
    assert row.text_length == len("great\x00 and\x00 helpful")
    assert "\x00" not in row.payload_json


@pytest.mark.parametrize("audience_size", [0, 1234, 3_000_000_000])
def test_audience_size_of_a_community_upsert_is_stored_as_sent(
    decoder: Decoder, audience_size: int
) -> None:
    # The payload is written from the model, so a field the model does not know is lost.
    event = example("community.upserted")
    event["payload"] = {**event["payload"], "audience_size": audience_size}
    row = decode(decoder, encode(event))
    assert isinstance(row, EventRow)
    assert json.loads(row.payload_json) == event["payload"]
    assert f'"audience_size":{audience_size}' in row.payload_json  # an integer, not 1234.0


def test_unknown_envelope_fields_are_ignored(decoder: Decoder) -> None:
    event = example("member.joined", traceparent="00-abc-01", x_extra={"member_id": "leak"})
    row = decode(decoder, encode(event))
    assert isinstance(row, EventRow)
    assert "leak" not in repr(row.copy_row(TOPIC))


def test_timestamp_up_to_the_tolerance_ahead_of_ingest_time_is_valid(decoder: Decoder) -> None:
    soon = (NOW + timedelta(minutes=4, seconds=59)).isoformat()
    assert isinstance(decode(decoder, encode(example("member.joined", occurred_at=soon))), EventRow)


def test_value_of_exactly_one_mib_is_not_oversized(decoder: Decoder) -> None:
    value = encode(example("member.joined", pad=""))
    value = value[:-2] + b"p" * (MAX_VALUE_BYTES - len(value)) + value[-2:]
    assert len(value) == MAX_VALUE_BYTES == MIB
    assert isinstance(decode(decoder, value), EventRow)


# -- dead-letter reasons -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        b'{"event_id": "10000000-0000-4000-8000-000000000001", "event_type": "post.cr',
        b"{'event_id': 'single quotes'}",
        b"not json at all",
        b"{} {}",
        b"",
        b"   \n",
        None,
        b"\xef\xbb\xbf" + encode(EXAMPLES["member.joined"]),
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    ],
    ids=[
        "truncated",
        "single-quotes",
        "text",
        "two-objects",
        "empty",
        "whitespace",
        "none",
        "bom",
        "nested-arrays-100k",
        "nested-objects-100k",
    ],
)
def test_invalid_json_is_a_dead_letter_invalid_json(decoder: Decoder, value: bytes | None) -> None:
    dead_letter(decoder, value, "invalid_json")


@pytest.mark.parametrize(
    "value",
    [
        encode(example("member.joined", member_id="@@")).replace(b"@@", b"\xff\xfe"),
        b'{"event_id": "\xc0\xaf"}',  # overlong encoding
        b'{"text": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8
        b"\x80",
        encode(example("post.created")).replace(b"amazing", b"amaz\xe9ng"),  # latin-1
    ],
    ids=["ff-fe", "overlong", "utf8-surrogate", "continuation", "latin-1"],
)
def test_invalid_utf8_is_a_dead_letter_invalid_utf8(decoder: Decoder, value: bytes) -> None:
    letter = dead_letter(decoder, value, "invalid_utf8")
    assert letter.redacted_json is None, "bytes that are not text are not kept in Postgres"


@pytest.mark.parametrize("size", [MIB + 1, 2 * MIB], ids=["one-byte-over", "two-mib"])
def test_value_over_one_mib_is_a_dead_letter_oversized(decoder: Decoder, size: int) -> None:
    valid_but_big = encode(example("member.joined", pad=""))
    valid_but_big = valid_but_big[:-2] + b"p" * (size - len(valid_but_big)) + valid_but_big[-2:]
    assert len(valid_but_big) == size
    letter = dead_letter(decoder, valid_but_big, "oversized")
    assert letter.redacted_json is None
    assert letter.copy_row()[10] == size  # value_bytes


def test_oversized_wins_over_invalid_utf8_and_invalid_json(decoder: Decoder) -> None:
    dead_letter(decoder, b"\xff" * (2 * MIB), "oversized")


def _schema_violations() -> list[tuple[str, bytes]]:
    cases: list[tuple[str, Any]] = []
    missing_id = example("member.joined")
    del missing_id["event_id"]
    cases.append(("missing event_id", missing_id))
    no_member = example("post.created")
    del no_member["member_id"]
    cases.append(("member_id missing on post.created", no_member))
    cases.append(("member_id null", example("member.left", member_id=None)))
    cases.append(("member_id too long", example("member.joined", member_id="m" * 129)))
    cases.append(("member_id number", example("member.joined", member_id=12345)))
    cases.append(("member_id with NUL", example("member.joined", member_id="u1\x00")))
    cases.append(("platform with NUL", example("member.joined", platform="reddit\x00")))
    cases.append(("community_id with space", example("member.joined", community_id="a b")))
    cases.append(("schema_version 2", example("member.joined", schema_version=2)))
    cases.append(("naive timestamp", example("member.joined", occurred_at="2026-05-01T08:00:00")))
    cases.append(("event_id not a uuid", example("member.joined", event_id="abc")))
    cases.append(("payload missing field", example("feedback.voted", payload={"idea_id": "i"})))
    cases.append(("payload a list", example("member.joined", payload=[])))
    bad_enum = example("post.created")
    bad_enum["payload"]["content_type"] = "gif"
    cases.append(("content_type gif", bad_enum))
    bad_sentiment = example("comment.created")
    bad_sentiment["payload"]["sentiment"] = "very positive"
    cases.append(("sentiment a word", bad_sentiment))
    out_of_range = example("comment.created")
    out_of_range["payload"]["sentiment"] = 1.5
    cases.append(("sentiment 1.5", out_of_range))
    long_text = example("post.created")
    long_text["payload"]["text"] = "x" * 10_001
    cases.append(("text too long", long_text))
    nul_tag = example("post.created")
    nul_tag["payload"]["tags"] = ["a\x00"]
    cases.append(("tag with NUL", nul_tag))
    cases.append(
        (
            "event_type missing",
            {k: v for k, v in EXAMPLES["member.left"].items() if k != "event_type"},
        )
    )
    cases.append(("event_type a number", example("member.left", event_type=3)))
    cases.append(("array", []))
    cases.append(("string", "post.created"))
    cases.append(("number", 42))
    cases.append(("float", 4.2))
    cases.append(("true", True))
    cases.append(("null", None))
    return [(name, encode(event)) for name, event in cases]


SCHEMA_VIOLATIONS = _schema_violations()


@pytest.mark.parametrize(
    "value", [v for _, v in SCHEMA_VIOLATIONS], ids=[n for n, _ in SCHEMA_VIOLATIONS]
)
def test_contract_breach_is_a_dead_letter_schema_violation(decoder: Decoder, value: bytes) -> None:
    dead_letter(decoder, value, "schema_violation")


@pytest.mark.parametrize("event_type", ["post.deleted", "member.banned", "", "Post.Created"])
def test_unknown_event_type_is_a_dead_letter_unknown_event_type(
    decoder: Decoder, event_type: str
) -> None:
    letter = dead_letter(
        decoder, encode(example("post.created", event_type=event_type)), "unknown_event_type"
    )
    assert letter.event_type == event_type
    assert letter.event_id == EXAMPLES["post.created"]["event_id"]


@pytest.mark.parametrize(
    "occurred_at",
    [
        (NOW + timedelta(minutes=5, seconds=1)).isoformat(),
        (NOW + timedelta(days=1)).isoformat(),
        "2999-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59.999999+00:00",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:00:00-05:00",  # after datetime.max once converted to UTC
        "9999-12-31T23:59:59-23:59",
    ],
    ids=["5m1s", "1d", "2999", "9999-utc", "9999-z", "9999-minus-5h", "9999-minus-24h"],
)
def test_timestamp_too_far_ahead_is_a_dead_letter_future_timestamp(
    decoder: Decoder, occurred_at: str
) -> None:
    event = example("post.created", occurred_at=occurred_at)
    letter = dead_letter(decoder, encode(event), "future_timestamp")
    assert letter.event_id == event["event_id"]
    assert letter.event_type == "post.created"
    assert letter.member_key == member_key(event["platform"], event["member_id"])


def test_future_tolerance_comes_from_the_decoder() -> None:
    strict = Decoder(Pseudonymizer(KEY), timedelta(0))
    soon = (NOW + timedelta(seconds=1)).isoformat()
    assert isinstance(
        decode(strict, encode(example("member.joined", occurred_at=soon))), DeadLetter
    )


# -- hostile input never raises ----------------------------------------------------------------


def _hostile() -> list[tuple[str, bytes | None]]:
    joined = EXAMPLES["member.joined"]
    post = EXAMPLES["post.created"]
    hostile: list[tuple[str, bytes | None]] = [
        ("nul everywhere", encode({k: f"{v}\x00" for k, v in joined.items() if k != "payload"})),
        ("nul in member_id", encode({**joined, "member_id": "\x00"})),
        ("nul in key of object", encode({**joined, "\x00": "\x00"})),
        ("lone high surrogate in member_id", encode(joined).replace(b'"u1001"', b'"\\ud800"')),
        ("lone low surrogate in platform", encode(joined).replace(b'"discord"', b'"\\udc00x"')),
        ("lone surrogate in text", encode(post).replace(b"amazing", b"\\ud83d amazing")),
        ("surrogate pair in text", encode(post).replace(b"amazing", b"\\ud83d\\ude00 amazing")),
        ("nul escape in text", encode(post).replace(b"amazing", b"\\u0000amazing")),
        ("escaped backslash before u0000", encode({**joined, "x": "\\u0000", "member_id": 1})),
        ("invalid utf-8", b'{"member_id": "\xff"}'),
        ("two mib", b"{" + b" " * (2 * MIB) + b"}"),
        ("nested 100k", b"[" * 100_000 + b"]" * 100_000),
        ("nested 900 in payload", encode({**joined, "x": json.loads("[" * 900 + "]" * 900)})),
        ("nested 300 in payload", encode({**joined, "x": json.loads("[" * 300 + "]" * 300)})),
        ("wrong types everywhere", encode({k: [1, {"a": None}] for k in joined})),
        ("empty", b""),
        ("none", None),
        ("array", b"[]"),
        ("string", b'"hello"'),
        ("number", b"12"),
        ("null", b"null"),
        ("year 9999", encode({**post, "occurred_at": "9999-12-31T23:00:00-05:00"})),
        ("year 0001 with offset", encode({**post, "occurred_at": "0001-01-01T00:00:00+05:00"})),
        ("huge exponent", encode(post).replace(b'"tags"', b'"big": 1e999, "tags"')),
        ("control characters", encode({**joined, "member_id": "\x01\x1b[31m\x7f"})),
        ("very long member_id", encode({**joined, "member_id": "m" * 100_000})),
        ("many keys", encode({**joined, **{f"k{i}": i for i in range(50_000)}})),
    ]
    return hostile


HOSTILE = _hostile()


@pytest.mark.parametrize("value", [v for _, v in HOSTILE], ids=[n for n, _ in HOSTILE])
def test_hostile_value_never_raises_and_yields_storable_output(
    decoder: Decoder, value: bytes | None
) -> None:
    result = decode(decoder, value)
    assert isinstance(result, EventRow | DeadLetter)
    if isinstance(result, DeadLetter):
        assert result.reason in REASONS
        _assert_storable_dead_letter(result)
    else:
        for field in result.copy_row(TOPIC):
            if isinstance(field, str):
                assert "\x00" not in field
                field.encode("utf-8")
        json.loads(result.payload_json)


def _assert_storable_dead_letter(letter: DeadLetter) -> None:
    """What PostgreSQL accepts: text without NUL or lone surrogates, strict JSON for jsonb."""
    for field in letter.copy_row():
        if isinstance(field, str):
            assert "\x00" not in field
            field.encode("utf-8")
    if letter.redacted_json is not None:
        assert "\\u0000" not in letter.redacted_json.replace("\\\\", "")

        def reject_constant(name: str) -> None:
            raise AssertionError(f"{name} is not JSON and jsonb refuses it")

        json.loads(letter.redacted_json, parse_constant=reject_constant)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_number_is_invalid_json_and_its_dead_letter_is_storable(
    decoder: Decoder, number: str
) -> None:
    # RFC 8259 has no NaN/Infinity and 1e999 is no finite number, though Python's json module
    # reads all of them (as floats jsonb refuses).
    value = encode(EXAMPLES["comment.created"]).replace(b"0.25", number.encode())
    letter = dead_letter(decoder, value, "invalid_json")
    _assert_storable_dead_letter(letter)


def test_dead_letter_of_future_event_with_non_finite_number_keeps_jsonb_compatible_json(
    decoder: Decoder,
) -> None:
    event = example("post.created", occurred_at="2999-01-01T00:00:00+00:00")
    value = encode(event).replace(b'"tags"', b'"score": NaN, "tags"')
    _assert_storable_dead_letter(dead_letter(decoder, value, "future_timestamp"))


@pytest.mark.parametrize(
    "value",
    [
        b"1" * 5000,
        encode(example("member.joined", member_id=None))[:-1] + b', "n": ' + b"9" * 5000 + b"}",
        encode(example("member.joined"))[:-1] + b', "n": ' + b"9" * 5000 + b"}",
    ],
    ids=["bare-5000-digit-number", "in-invalid-event", "in-otherwise-valid-event"],
)
def test_number_with_more_digits_than_python_converts_never_raises(
    decoder: Decoder, value: bytes
) -> None:
    # Python refuses int() of more than 4300 digits with a plain ValueError (not a
    # JSONDecodeError): the classification must not assume a JSONDecodeError.
    result = decode(decoder, value)
    assert isinstance(result, DeadLetter | EventRow)
    if isinstance(result, DeadLetter):
        assert result.reason in ("invalid_json", "schema_violation")


def test_hostile_values_do_not_leak_into_the_detail(decoder: Decoder) -> None:
    event = example("member.joined", member_id="SECRET-" + "m" * 200, platform="p" * 40)
    letter = dead_letter(decoder, encode(event), "schema_violation")
    assert "SECRET" not in letter.detail


@pytest.mark.parametrize(
    ("envelope", "detail"),
    [
        ({"member_id": "a\x00b"}, "member_id: NUL characters are not allowed"),
        ({"platform": "a:b"}, "platform: must not contain ':' (the separator of the member key)"),
        ({"community_id": "plant care"}, "community_id: must be 1-64 characters of A-Z"),
        ({"occurred_at": "2026-05-01T08:00"}, "occurred_at: must be an RFC 3339 timestamp"),
        ({"occurred_at": "1969-12-31T23:00:00Z"}, "occurred_at: must be a date and time that"),
    ],
    ids=["nul", "platform", "community", "timestamp", "before-1970"],
)
def test_the_detail_says_which_rule_a_value_broke_in_words(
    decoder: Decoder, envelope: dict[str, str], detail: str
) -> None:
    # Not pydantic's "String should match pattern '^[^\x00]*$'": operators read these.
    letter = dead_letter(decoder, encode(example("member.joined", **envelope)), "schema_violation")
    assert letter.detail.startswith(detail), letter.detail


def test_detail_is_bounded(decoder: Decoder) -> None:
    event = {k: [1] for k in EXAMPLES["post.created"]}
    letter = dead_letter(decoder, encode(event), "schema_violation")
    assert len(letter.detail) <= 500


# -- dead letters: redaction and DLQ headers ---------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "change"),
    [
        ("schema_violation", {"event_id": "not-a-uuid"}),
        ("unknown_event_type", {"event_type": "post.deleted"}),
        ("future_timestamp", {"occurred_at": "2999-01-01T00:00:00+00:00"}),
    ],
)
def test_redacted_json_has_member_key_instead_of_member_id_and_no_text(
    decoder: Decoder, reason: str, change: dict[str, Any]
) -> None:
    event = example("post.created", member_id="PLANTED-MEMBER", **change)
    event["payload"]["text"] = "PLANTED-TEXT is awful"
    letter = dead_letter(decoder, encode(event), reason)
    assert letter.redacted_json is not None
    assert "PLANTED" not in letter.redacted_json
    redacted = json.loads(letter.redacted_json)
    expected_key = member_key(event["platform"], "PLANTED-MEMBER")
    assert "member_id" not in redacted
    assert redacted["member_key"] == letter.member_key == expected_key
    assert "text" not in redacted["payload"]
    assert redacted["payload"]["text_length"] == len("PLANTED-TEXT is awful")
    # Everything else is kept for diagnosis.
    assert redacted["payload"]["post_id"] == event["payload"]["post_id"]
    assert redacted["occurred_at"] == event["occurred_at"]
    assert "PLANTED" not in repr(letter.copy_row()[:8])


def test_redacted_json_of_non_string_member_id_keeps_no_trace_of_it(decoder: Decoder) -> None:
    event = example("member.joined", member_id={"id": "PLANTED-MEMBER"})
    letter = dead_letter(decoder, encode(event), "schema_violation")
    assert letter.redacted_json is not None
    assert "PLANTED" not in letter.redacted_json
    assert letter.member_key is None


def test_redacted_json_of_numeric_member_id_holds_its_member_key(decoder: Decoder) -> None:
    event = example("member.joined", member_id=987654321)
    letter = dead_letter(decoder, encode(event), "schema_violation")
    assert letter.redacted_json is not None
    assert "987654321" not in letter.redacted_json
    assert letter.member_key == member_key(event["platform"], "987654321")


def test_dead_letter_keeps_the_original_key_value_and_position(decoder: Decoder) -> None:
    value = b'{"broken'
    letter = decode(decoder, value, key=b"acme.micro.plant_care", headers=[("trace", b"1")])
    assert isinstance(letter, DeadLetter)
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == (
        TOPIC,
        2,
        4711,
    )
    assert (letter.key, letter.value) == (b"acme.micro.plant_care", value)
    row = letter.copy_row()
    assert row[10] == len(value)
    assert row[11] == hashlib.sha256(value).hexdigest()


def test_dlq_headers_carry_reason_detail_and_source_position(decoder: Decoder) -> None:
    letter = decode(
        decoder,
        encode(example("post.created", event_type="post.deleted")),
        headers=[("traceparent", b"00-abc-01"), ("pulse.error.reason", b"forged")],
    )
    assert isinstance(letter, DeadLetter)
    headers = letter.dlq_headers()
    as_dict = dict(headers)
    assert as_dict["pulse.error.reason"] == b"unknown_event_type"
    assert as_dict["pulse.error.detail"].decode() == letter.detail
    assert as_dict["pulse.source.topic"] == TOPIC.encode()
    assert as_dict["pulse.source.partition"] == b"2"
    assert as_dict["pulse.source.offset"] == b"4711"
    # The producer's own headers travel along; forged pulse.* headers do not.
    assert ("traceparent", b"00-abc-01") in headers
    assert [name for name, _ in headers].count("pulse.error.reason") == 1


def test_dead_letter_of_none_value_has_zero_bytes(decoder: Decoder) -> None:
    letter = dead_letter(decoder, None, "invalid_json")
    row = letter.copy_row()
    assert row[10] == 0
    assert row[11] == hashlib.sha256(b"").hexdigest()
    assert letter.value is None


def test_every_reason_of_the_design_is_produced_by_some_input(decoder: Decoder) -> None:
    samples = {
        "invalid_json": b"{",
        "invalid_utf8": b"\xff",
        "oversized": b" " * (MIB + 1),
        "schema_violation": b"[]",
        "unknown_event_type": encode(example("member.left", event_type="x.y")),
        "future_timestamp": encode(example("member.left", occurred_at="2999-01-01T00:00:00Z")),
    }
    # undecodable_record is what the Kafka client cannot parse at all: no value reaches decode().
    assert set(samples) == set(REASONS) - {"undecodable_record"}
    for reason, value in samples.items():
        dead_letter(decoder, value, reason)
    letter = decoder.unparsed(
        "undecodable_record", TOPIC, 2, 10, "a header key is not UTF-8", key=b"PLANTED-KEY"
    )
    assert letter.reason in REASONS
    assert letter.stored_key is None and letter.key_hmac and letter.key == b"PLANTED-KEY"
    assert "PLANTED" not in repr(letter.copy_row())


def test_vader_score_is_finite_for_any_text(decoder: Decoder) -> None:
    event = example("post.created")
    event["payload"]["text"] = "!!!" * 3000 + " 😀 " + "\x00"
    row = decode(decoder, encode(event))
    assert isinstance(row, EventRow)
    assert row.sentiment is not None
    assert math.isfinite(row.sentiment)
    assert -1 <= row.sentiment <= 1


# -- member_ref, the platform-independent reference --------------------------------------------


def test_member_ref_is_the_same_member_under_every_platform(decoder: Decoder) -> None:
    rows = [
        decode(decoder, encode(example("member.joined", member_id="u42", platform=platform)))
        for platform in ("discord", "reddit", "Brand_App ")
    ]
    assert all(isinstance(row, EventRow) for row in rows)
    assert {row.member_ref for row in rows} == {member_ref("u42")}  # type: ignore[union-attr]
    assert len({row.member_key for row in rows}) == 3  # type: ignore[union-attr]


def test_member_ref_is_domain_separated_from_member_key_and_fingerprint() -> None:
    pseudonymizer = Pseudonymizer(KEY)
    ref = pseudonymizer.member_ref("u42")
    assert ref == member_ref("u42")
    # A member key of the empty platform hashes ":u42" under the key itself: never equal.
    assert ref not in {pseudonymizer.member_key(None, "u42"), pseudonymizer.member_key("", "u42")}
    assert ref != hmac.new(KEY.encode(), b"u42", hashlib.sha256).hexdigest()
    fingerprint = hmac.new(KEY.encode(), b"pulse key fingerprint", hashlib.sha256).hexdigest()
    assert pseudonymizer.fingerprint == fingerprint
    assert KEY not in repr(pseudonymizer) and KEY.encode().hex() not in fingerprint


def test_member_key_uses_the_normalized_platform(decoder: Decoder) -> None:
    row = decode(decoder, encode(example("member.joined", member_id="u42", platform=" Reddit ")))
    assert isinstance(row, EventRow)
    assert (row.platform, row.member_key) == ("reddit", member_key("reddit", "u42"))


def test_community_upserted_has_no_member_ref(decoder: Decoder) -> None:
    row = decode(decoder, encode(EXAMPLES["community.upserted"]))
    assert isinstance(row, EventRow)
    assert (row.member_key, row.member_ref) == (None, None)


# -- dead letters keep an allow-list ---------------------------------------------------------


def test_redacted_copy_keeps_only_contract_fields(decoder: Decoder) -> None:
    event = example("post.created", member_id="PLANTED-MEMBER", event_id="not-a-uuid")
    event["memberId"] = "PLANTED-CAMEL"
    event["email"] = "planted@example.com"
    event["author"] = {"id": "PLANTED-NESTED", "name": "Planted Person"}
    event["payload"]["text"] = "PLANTED-TEXT is lovely"
    event["payload"]["author"] = {"member_id": "PLANTED-IN-PAYLOAD"}
    event["payload"]["tags"] = ["ok", {"member_id": "PLANTED-IN-TAG"}]
    event["payload"]["post_id"] = {"member_id": "PLANTED-IN-ALLOWED-FIELD"}
    event["community_id"] = ["PLANTED-IN-ENVELOPE"]
    letter = dead_letter(decoder, encode(event), "schema_violation")
    assert letter.redacted_json is not None
    assert "PLANTED" not in letter.redacted_json.upper()
    assert "planted" not in letter.redacted_json
    redacted = json.loads(letter.redacted_json)
    assert set(redacted) == {
        "event_id",
        "event_type",
        "schema_version",
        "occurred_at",
        "community_id",
        "platform",
        "payload",
        "member_key",
        "dropped_fields",
    }
    assert redacted["dropped_fields"] == 4  # memberId, email, author, payload.author
    assert redacted["community_id"] == "<array>"
    assert redacted["payload"]["post_id"] == "<object>"
    assert redacted["payload"]["tags"] == ["ok", "<object>"]
    assert redacted["payload"]["text_length"] == len("PLANTED-TEXT is lovely")
    assert redacted["member_key"] == letter.member_key == member_key("discord", "PLANTED-MEMBER")
    assert letter.member_ref == member_ref("PLANTED-MEMBER")
    assert "PLANTED" not in repr(letter.copy_row())


def test_redacted_copy_of_an_unknown_event_type_keeps_payload_fields_of_any_type(
    decoder: Decoder,
) -> None:
    event = example("post.created", event_type="post.deleted")
    event["payload"]["reason_given"] = "PLANTED"
    letter = dead_letter(decoder, encode(event), "unknown_event_type")
    assert letter.redacted_json is not None and "PLANTED" not in letter.redacted_json
    assert json.loads(letter.redacted_json)["payload"]["post_id"] == event["payload"]["post_id"]


def test_redacted_strings_are_bounded(decoder: Decoder) -> None:
    event = example("post.created", event_id="x" * 10_000)
    letter = dead_letter(decoder, encode(event), "schema_violation")
    assert letter.redacted_json is not None
    assert len(json.loads(letter.redacted_json)["event_id"]) == 256


def test_payload_that_is_not_an_object_is_kept_as_its_kind(decoder: Decoder) -> None:
    letter = dead_letter(
        decoder, encode(example("member.left", payload="planted@example.com")), "schema_violation"
    )
    assert letter.redacted_json is not None
    assert json.loads(letter.redacted_json)["payload"] == "<string>"


@pytest.mark.parametrize(
    ("key", "community", "kept"),
    [
        (b"acme.micro.plant_care", "acme.micro.plant_care", True),
        (b"PLANTED-MARKER", "acme.micro.plant_care", False),  # a valid id, but not the record's
        (b"\xff\xfe", "acme.micro.plant_care", False),
        (b"u1001", None, False),
    ],
    ids=["own-community", "other-id", "not-utf8", "unparsed-value"],
)
def test_message_key_is_stored_only_when_it_is_the_records_community_id(
    decoder: Decoder, key: bytes, community: str | None, kept: bool
) -> None:
    value = encode(example("member.joined", event_id="bad", community_id=community))
    if community is None:
        value = b"{"
    letter = decode(decoder, value, key=key)
    assert isinstance(letter, DeadLetter)
    assert letter.key == key, "the DLQ topic gets the original key"
    if kept:
        assert (letter.stored_key, letter.key_hmac) == (key, None)
    else:
        assert letter.stored_key is None
        assert letter.key_hmac == Pseudonymizer(KEY).message_key_digest(key)
        assert key.hex() not in repr(letter.copy_row()) and repr(key) not in repr(letter.copy_row())


def test_dead_letter_columns_match_copy_row(decoder: Decoder) -> None:
    from streaming.decode import DEAD_LETTER_COLUMNS, EVENT_COLUMNS

    letter = dead_letter(decoder, b"{", "invalid_json")
    assert len(letter.copy_row()) == len(DEAD_LETTER_COLUMNS)
    row = decode(decoder, encode(EXAMPLES["post.created"]))
    assert isinstance(row, EventRow)
    assert len(row.copy_row(TOPIC)) == len(EVENT_COLUMNS)
    assert row.copy_row(TOPIC)[EVENT_COLUMNS.index("member_ref")] == row.member_ref
