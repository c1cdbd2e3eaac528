"""Turn one Kafka record into a row for raw.community_events or a dead letter.

Pure logic, no I/O: the consumer calls `Decoder.decode` once per record. Valid records take a fast
path (one pydantic `validate_json` call on the bytes); only rejected records pay for working out
*why* they were rejected, in the order of the contract's reasons (docs/contracts.md).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from streaming.contracts import EVENT_TYPES, INBOUND_ADAPTER, TYPES_WITH_TEXT
from streaming.privacy import Pseudonymizer, text_sentiment
from streaming.redact import MAX_REDACTED_CHARS, Redactor, clean_text, jsonb_text

MAX_VALUE_BYTES = 1024 * 1024
MAX_DETAIL_CHARS = 500

REASONS = (
    "invalid_json",
    "invalid_utf8",
    "oversized",
    "schema_violation",
    "unknown_event_type",
    "future_timestamp",
    # The Kafka client could not parse the record (or its batch) at all: a header key that is
    # not UTF-8, a broken record structure, a failed CRC, a batch that decompresses past bounds.
    "undecodable_record",
)


@dataclass(slots=True)
class EventRow:
    """One valid event, ready for COPY (column order of `EVENT_COLUMNS`)."""

    event_id: str
    event_type: str
    schema_version: int
    occurred_at: datetime
    community_id: str
    member_key: str | None
    platform: str | None
    payload_json: str
    sentiment: float | None
    sentiment_source: str | None
    text_length: int | None
    source_partition: int
    source_offset: int
    # HMAC of the member id alone (docs/contracts.md, "Privacy"); last, so it may be omitted.
    member_ref: str | None = None

    def copy_row(self, topic: str) -> tuple[Any, ...]:
        return (
            self.event_id,
            self.event_type,
            self.schema_version,
            self.occurred_at,
            self.community_id,
            self.member_key,
            self.member_ref,
            self.platform,
            self.payload_json,
            self.sentiment,
            self.sentiment_source,
            self.text_length,
            topic,
            self.source_partition,
            self.source_offset,
        )


EVENT_COLUMNS = (
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "community_id",
    "member_key",
    "member_ref",
    "platform",
    "payload",
    "sentiment",
    "sentiment_source",
    "text_length",
    "source_topic",
    "source_partition",
    "source_offset",
)


@dataclass(slots=True)
class DeadLetter:
    """One rejected record: what goes to raw.dead_letter_events and to the DLQ topic.

    `key`, `value` and `headers` are the original record's, for the DLQ topic only; Postgres
    gets `stored_key` (the key when it is the record's community id) or `key_hmac` instead, and
    the redacted copy. `source_offset_last` is set when only an offset range is known (a batch
    the client cannot parse); `value_size`/`value_sha256` when the value was not read into memory.
    """

    source_topic: str
    source_partition: int
    source_offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    reason: str
    detail: str
    event_id: str | None = None
    event_type: str | None = None
    member_key: str | None = None
    redacted_json: str | None = None
    member_ref: str | None = None
    stored_key: bytes | None = None
    key_hmac: str | None = None
    source_epoch: int = 0
    source_offset_last: int | None = None
    value_size: int | None = None
    value_sha256: str | None = None
    dlq_published: bool = True
    dlq_error: str | None = None

    def copy_row(self) -> tuple[Any, ...]:
        value = self.value or b""
        return (
            self.source_topic,
            self.source_partition,
            self.source_offset,
            self.reason,
            self.detail,
            self.event_id,
            self.event_type,
            self.member_key,
            self.stored_key,
            self.redacted_json,
            len(value) if self.value_size is None else self.value_size,
            self.value_sha256 or hashlib.sha256(value).hexdigest(),
            self.source_epoch,
            self.source_offset_last,
            self.member_ref,
            self.key_hmac,
            self.dlq_published,
            self.dlq_error,
        )

    def dlq_headers(self) -> list[tuple[str, bytes | None]]:
        """The original headers plus the `pulse.*` ones of the contract (docs/contracts.md)."""
        ours: list[tuple[str, bytes | None]] = [
            ("pulse.error.reason", self.reason.encode()),
            ("pulse.error.detail", self.detail.encode("utf-8", "replace")),
            ("pulse.source.topic", self.source_topic.encode()),
            ("pulse.source.partition", str(self.source_partition).encode()),
            ("pulse.source.offset", str(self.source_offset).encode()),
            ("pulse.source.epoch", str(self.source_epoch).encode()),
        ]
        if self.source_offset_last is not None:
            ours.append(("pulse.source.offset_last", str(self.source_offset_last).encode()))
        return [*(h for h in self.headers if not h[0].startswith("pulse.")), *ours]


DEAD_LETTER_COLUMNS = (
    "source_topic",
    "source_partition",
    "source_offset",
    "reason",
    "detail",
    "event_id",
    "event_type",
    "member_key",
    "message_key",
    "redacted_value",
    "value_bytes",
    "value_sha256",
    "source_epoch",
    "source_offset_last",
    "member_ref",
    "message_key_hmac",
    "dlq_published",
    "dlq_error",
)


class Rejected(Exception):
    """A record fails the contract; `reason` is one of REASONS."""

    def __init__(self, reason: str, detail: str, parsed: Any = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.parsed = parsed


class Decoder:
    """Validates, pseudonymizes and scores records against the inbound contract."""

    def __init__(self, pseudonymizer: Pseudonymizer, future_tolerance: timedelta) -> None:
        self._pseudonymizer = pseudonymizer
        self._redactor = Redactor(pseudonymizer)
        self._future_tolerance = future_tolerance

    def decode(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
        now: datetime | None = None,
    ) -> EventRow | DeadLetter:
        """Decode one record. Never raises for bad input: bad input becomes a DeadLetter."""
        now = now or datetime.now(UTC)
        try:
            return self._event_row(partition, offset, value, now)
        except Rejected as rejected:
            return self._dead_letter(topic, partition, offset, key, value, headers, rejected)

    def _event_row(
        self, partition: int, offset: int, value: bytes | None, now: datetime
    ) -> EventRow:
        if value is not None and len(value) > MAX_VALUE_BYTES:
            raise Rejected("oversized", f"value of {len(value)} bytes exceeds {MAX_VALUE_BYTES}")
        try:
            event = INBOUND_ADAPTER.validate_json(value or b"")
        except ValidationError as error:
            raise _why_rejected(value, error) from None
        try:
            too_late = event.occurred_at > now + self._future_tolerance
        except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past datetime.max in UTC
            too_late = True
        if too_late:
            raise Rejected(
                "future_timestamp",
                f"occurred_at {event.occurred_at.isoformat()} is more than "
                f"{self._future_tolerance} ahead of ingest time",
                parsed=_safe_parse(value),
            )

        payload = event.payload
        sentiment = text_length = source = None
        if event.event_type in TYPES_WITH_TEXT:
            text = payload.text  # type: ignore[union-attr]
            text_length = len(text) if text is not None else None
            if payload.sentiment is not None:  # type: ignore[union-attr]
                sentiment, source = payload.sentiment, "sent"  # type: ignore[union-attr]
            elif text:
                sentiment, source = text_sentiment(text), "vader"
        member_key = member_ref = None
        if event.member_id is not None:
            member_key = self._pseudonymizer.member_key(event.platform, event.member_id)
            member_ref = self._pseudonymizer.member_ref(event.member_id)
        return EventRow(
            event_id=str(event.event_id),
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=event.occurred_at,
            community_id=event.community_id,
            member_key=member_key,
            member_ref=member_ref,
            platform=event.platform,
            payload_json=payload.model_dump_json(exclude={"text", "sentiment"}, exclude_none=True),
            sentiment=sentiment,
            sentiment_source=source,
            text_length=text_length,
            source_partition=partition,
            source_offset=offset,
        )

    def _dead_letter(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None,
        rejected: Rejected,
    ) -> DeadLetter:
        parsed = rejected.parsed if isinstance(rejected.parsed, dict) else None
        letter = DeadLetter(
            source_topic=topic,
            source_partition=partition,
            source_offset=offset,
            key=key,
            value=value,
            headers=list(headers or []),
            reason=rejected.reason,
            detail=clean_text(rejected.detail)[:MAX_DETAIL_CHARS],
        )
        letter.stored_key, letter.key_hmac = self._redactor.stored_key(key, parsed)
        if parsed is not None:
            letter.event_id = _short_str(parsed.get("event_id"))
            letter.event_type = _short_str(parsed.get("event_type"))
            redacted = self._redactor.redact(parsed)
            letter.redacted_json = redacted.json
            letter.member_key, letter.member_ref = redacted.member_key, redacted.member_ref
        return letter

    def unparsed(
        self,
        reason: str,
        topic: str,
        partition: int,
        offset: int,
        detail: str,
        *,
        key: bytes | None = None,
        value: bytes | None = None,
        headers: list[tuple[str, bytes | None]] | None = None,
        offset_last: int | None = None,
        value_size: int | None = None,
        value_sha256: str | None = None,
    ) -> DeadLetter:
        """A dead letter for a record whose value is not decoded: one the Kafka client cannot
        parse (`undecodable_record`, possibly a whole offset range) or one too big to read into
        memory (`oversized`, with its size and digest computed while skipping it)."""
        letter = DeadLetter(
            source_topic=topic,
            source_partition=partition,
            source_offset=offset,
            key=key,
            value=value,
            headers=list(headers or []),
            reason=reason,
            detail=clean_text(detail)[:MAX_DETAIL_CHARS],
            source_offset_last=offset_last,
            value_size=value_size,
            value_sha256=value_sha256,
        )
        letter.stored_key, letter.key_hmac = self._redactor.stored_key(key, None)
        return letter


def _why_rejected(value: bytes | None, error: ValidationError) -> Rejected:
    """Classify a record that failed validation (slow path: rejected records only)."""
    if not value:
        return Rejected("invalid_json", "empty value")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejected("invalid_utf8", f"invalid UTF-8 at byte {exc.start}")
    try:
        parsed = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        return Rejected("invalid_json", "JSON nested too deeply")
    except json.JSONDecodeError as exc:
        return Rejected("invalid_json", f"not JSON: {exc.msg} at char {exc.pos}")
    except ValueError as exc:  # NaN/Infinity, out-of-range or over-long numbers
        return Rejected("invalid_json", f"not JSON: {exc}"[:MAX_DETAIL_CHARS])
    if not isinstance(parsed, dict):
        kind = _json_kind(parsed)
        return Rejected("schema_violation", f"value must be a JSON object, got {kind}")
    event_type = parsed.get("event_type")
    if isinstance(event_type, str) and event_type not in EVENT_TYPES:
        return Rejected(
            "unknown_event_type", f"unknown event_type {_short_str(event_type)!r}", parsed
        )
    return Rejected("schema_violation", _summarize(error), parsed)


def _safe_parse(value: bytes | None) -> Any:
    """The JSON object of a value pydantic accepted; None if Python's parser disagrees."""
    try:
        return json.loads(value or b"", parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        return None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:32]} is out of range")
    return value


def _summarize(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        # The discriminator's tag is the first loc element of every union member: drop it.
        loc = [str(p) for p in item["loc"] if str(p) not in EVENT_TYPES]
        parts.append(f"{'.'.join(loc) or 'value'}: {item['msg']}")
    return "; ".join(parts)


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _short_str(value: Any, limit: int = 128) -> str | None:
    if not isinstance(value, str):
        return None
    return clean_text(value)[:limit]


__all__ = [
    "DEAD_LETTER_COLUMNS",
    "EVENT_COLUMNS",
    "MAX_REDACTED_CHARS",
    "MAX_VALUE_BYTES",
    "REASONS",
    "DeadLetter",
    "Decoder",
    "EventRow",
    "jsonb_text",
]
