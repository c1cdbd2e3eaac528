"""Turn one Kafka record into a row for raw.community_events or a dead letter.

Pure logic, no I/O: the consumer calls `Decoder.decode_records` once per partition of a poll
(`Decoder.decode` does the same for one record). Valid records take a fast path (one pydantic
`validate_json` call on the bytes); only rejected records pay for working out *why* they were
rejected, in the order of the contract's reasons (docs/contracts.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from streaming.contracts import EVENT_TYPES, INBOUND_ADAPTER, PATTERN_MESSAGES, TYPES_WITH_TEXT
from streaming.privacy import Pseudonymizer, text_sentiment
from streaming.redact import MAX_REDACTED_CHARS, Redactor, clean_text, jsonb_text
from streaming.rows import DEAD_LETTER_COLUMNS, EVENT_COLUMNS, DeadLetter, EventRow

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
        # Bound once: these run for every event.
        self._member_key = pseudonymizer.member_key
        self._member_ref = pseudonymizer.member_ref

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
        limit = (now or datetime.now(UTC)) + self._future_tolerance
        validate = INBOUND_ADAPTER.validator.validate_json
        try:
            return EventRow.from_copy_row(
                self._copy_row(validate, topic, partition, offset, value, limit)
            )
        except Rejected as rejected:
            return self._dead_letter(topic, partition, offset, key, value, headers, rejected)

    def decode_records(
        self,
        records: Iterable[Any],
        topic: str,
        partition: int,
        epoch: int,
        now: datetime,
        rows: list[tuple[Any, ...]],
        dead_letters: list[DeadLetter],
    ) -> int:
        """The consumer's path: decode one poll's records of one partition.

        Valid events are appended to `rows` as COPY rows (EVENT_COLUMNS order, ready for the
        sink's binary COPY: no EventRow object and no string round trip per event), rejected
        records to `dead_letters`. What is the same for every record (the ingest-time limit of
        `occurred_at`, the topic) is worked out once per call. Never raises for bad input.

        Returns:
            The bytes of the values read (the consumer bounds a batch's memory with it).
        """
        limit = now + self._future_tolerance
        # pydantic-core's validator itself: TypeAdapter.validate_json adds a Python call per event.
        validate = INBOUND_ADAPTER.validator.validate_json
        copy_row = self._copy_row
        append = rows.append
        size = 0
        for record in records:
            value = record.value
            if value is not None:
                size += len(value)
            try:
                append(copy_row(validate, topic, partition, record.offset, value, limit))
            except Rejected as rejected:
                letter = self._dead_letter(
                    topic,
                    partition,
                    record.offset,
                    record.key,
                    value,
                    list(record.headers or []),
                    rejected,
                )
                letter.source_epoch = epoch
                dead_letters.append(letter)
        return size

    def _copy_row(
        self,
        validate: Callable[[bytes], Any],
        topic: str,
        partition: int,
        offset: int,
        value: bytes | None,
        limit: datetime,
    ) -> tuple[Any, ...]:
        """The COPY row of a valid event (EVENT_COLUMNS order); raises Rejected otherwise."""
        if value is not None and len(value) > MAX_VALUE_BYTES:
            raise Rejected("oversized", f"value of {len(value)} bytes exceeds {MAX_VALUE_BYTES}")
        try:
            event = validate(value or b"")
        except ValidationError as error:
            raise _why_rejected(value, error) from None
        occurred_at = event.occurred_at
        try:
            too_late = occurred_at > limit
        except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past datetime.max in UTC
            too_late = True
        if too_late:
            raise Rejected(
                "future_timestamp",
                f"occurred_at {occurred_at.isoformat()} is more than "
                f"{self._future_tolerance} ahead of ingest time",
                parsed=_safe_parse(value),
            )

        event_type = event.event_type
        payload = event.payload
        sentiment = text_length = source = None
        if event_type in TYPES_WITH_TEXT:
            text = payload.text  # type: ignore[union-attr]
            if text is not None:
                text_length = len(text)
            if payload.sentiment is not None:  # type: ignore[union-attr]
                sentiment, source = payload.sentiment, "sent"  # type: ignore[union-attr]
            elif text:
                sentiment, source = text_sentiment(text), "vader"
        member_id = event.member_id
        member_key = member_ref = None
        if member_id is not None:
            member_key = self._member_key(event.platform, member_id)
            member_ref = self._member_ref(member_id)
        return (
            event.event_id,  # a UUID: the binary COPY sends its 16 bytes, no text form
            event_type,
            event.schema_version,
            occurred_at,
            event.community_id,
            member_key,
            member_ref,
            event.platform,
            # Serialised once more only because the contract changes it: unknown fields and
            # free text are dropped (privacy), sentiment has a column of its own (the models
            # exclude both). The bytes go into the COPY as they are.
            payload.__pydantic_serializer__.to_json(payload, exclude_none=True),
            sentiment,
            source,
            text_length,
            topic,
            partition,
            offset,
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
    # With the context, for one thing only: which pattern a value missed, to say it in words.
    for item in error.errors(include_url=False, include_input=False):
        # The discriminator's tag is the first loc element of every union member: drop it.
        loc = [str(p) for p in item["loc"] if str(p) not in EVENT_TYPES]
        message = item["msg"]
        if item["type"] == "string_pattern_mismatch":
            message = PATTERN_MESSAGES.get(item.get("ctx", {}).get("pattern"), message)
        parts.append(f"{'.'.join(loc) or 'value'}: {message}")
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
