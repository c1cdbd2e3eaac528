"""The rows ingest writes: valid events (raw.community_events) and dead letters
(raw.dead_letter_events), with the column order of their COPY.

The consumer's hot path builds event rows as plain tuples in `EVENT_COLUMNS` order (what the
binary COPY takes, with no object per event in between); `EventRow` is the same row as an object,
for callers that decode one record at a time (`Decoder.decode`) and for tests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any


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

    @classmethod
    def from_copy_row(cls, values: tuple[Any, ...]) -> EventRow:
        """The row of a COPY tuple as the consumer builds it (EVENT_COLUMNS order)."""
        payload = values[8]
        return cls(
            event_id=str(values[0]),
            event_type=values[1],
            schema_version=values[2],
            occurred_at=values[3],
            community_id=values[4],
            member_key=values[5],
            member_ref=values[6],
            platform=values[7],
            payload_json=payload.decode() if isinstance(payload, bytes) else payload,
            sentiment=values[9],
            sentiment_source=values[10],
            text_length=values[11],
            source_partition=values[13],
            source_offset=values[14],
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


# Positions in a copy row (EVENT_COLUMNS) that the sink reads: the event id it deduplicates on and
# the source position that decides which copy of a repeated event is kept.
EVENT_ID, SOURCE_PARTITION, SOURCE_OFFSET = 0, 13, 14
assert EVENT_COLUMNS[EVENT_ID] == "event_id"
assert EVENT_COLUMNS[SOURCE_PARTITION] == "source_partition"
assert EVENT_COLUMNS[SOURCE_OFFSET] == "source_offset"
