"""The Postgres sink: one transaction per batch holding rows, dead letters and next offsets."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import postgres, sql
from psycopg.adapt import Dumper
from psycopg.pq import Format

from streaming.errors import KeyMismatchError, OffsetFenceError
from streaming.gaps import Gap
from streaming.rows import (
    DEAD_LETTER_COLUMNS,
    EVENT_COLUMNS,
    EVENT_ID,
    SOURCE_OFFSET,
    SOURCE_PARTITION,
    DeadLetter,
    EventRow,
)

logger = logging.getLogger(__name__)

INGEST_ROLE = "pulse_ingest"
APPLICATION_NAME = "pulse-ingest"


@dataclass
class Batch:
    """What the consumer collected since its last commit, for one topic.

    `expected_offsets` holds, per partition, the offset stored in Postgres when this consumer
    took the partition (None: no row yet); `next_offsets` the offset after the last record read.
    Valid events are `rows` (COPY rows in EVENT_COLUMNS order, what the consumer builds) or
    `events` (the same as objects, for callers that build `EventRow`s); a batch may hold both.
    """

    topic: str
    events: list[EventRow] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    expected_offsets: dict[int, int | None] = field(default_factory=dict)
    next_offsets: dict[int, int] = field(default_factory=dict)
    first_polled_at: datetime | None = None
    topic_id: str | None = None  # the topic incarnation the offsets belong to (None: unknown)
    value_bytes: int = 0  # bytes of the values held, to bound the batch's memory

    @property
    def valid(self) -> int:
        return len(self.rows) + len(self.events)

    @property
    def messages(self) -> int:
        return self.valid + len(self.dead_letters)


@dataclass(frozen=True)
class StoredPosition:
    """What raw.consumer_offsets holds for one partition."""

    offset: int
    epoch: int
    topic_id: str | None
    updated_at: datetime


@dataclass(frozen=True)
class BatchResult:
    messages: int
    inserted: int
    duplicates: int
    dead_letters: int


# Binary: a third of text COPY's client CPU per row (no text formatting and escaping of each
# value) and less parsing in the server (bench/bench_ingest.py, README "Benchmarks").
_EVENT_COPY = sql.SQL("copy pulse_batch_events ({}) from stdin (format binary)").format(
    sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
)
_EVENT_INSERT = sql.SQL(
    "insert into raw.community_events ({cols}) "
    # No ORDER BY: the batch holds each event id once (`first_copies`), so conflicts are only
    # with earlier batches and the order of the insert changes nothing.
    "select {cols} from pulse_batch_events on conflict (event_id) do nothing"
).format(cols=sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS)))
_COLUMN_TYPES = (
    "select atttypid from pg_attribute where attrelid = 'pulse_batch_events'::regclass "
    "and attnum > 0 and not attisdropped order by attnum"
)


class _UuidBinary(Dumper):
    """uuid in a binary COPY from a UUID (the consumer's rows) or its text (`EventRow`)."""

    format = Format.BINARY
    oid = postgres.types["uuid"].oid

    def dump(self, obj: Any) -> bytes:
        return (obj if isinstance(obj, UUID) else UUID(obj)).bytes


class _JsonbBinary(Dumper):
    """jsonb in a binary COPY from JSON that is already text (bytes or str): the format's
    version byte and the text, with no parse and no second serialisation in Python."""

    format = Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        return b"\x01" + (obj if isinstance(obj, bytes) else obj.encode())


def register_copy_dumpers(conn: psycopg.Connection) -> None:
    """Give `conn`'s binary COPY the uuid and jsonb dumpers above. By type oid only: COPY with
    `set_types` looks dumpers up that way; query parameters keep psycopg's own."""
    conn.adapters.register_dumper(None, _UuidBinary)
    conn.adapters.register_dumper(None, _JsonbBinary)


def first_copies(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Each event id of `rows` once: the copy at the lowest (partition, offset), the one a
    consumer reading the partitions in order meets first (docs/contracts.md: the same id twice is
    stored once, from its first occurrence)."""
    kept: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        event_id = row[EVENT_ID]
        key = event_id.int if isinstance(event_id, UUID) else UUID(event_id).int
        other = kept.setdefault(key, row)
        if other is not row and (row[SOURCE_PARTITION], row[SOURCE_OFFSET]) < (
            other[SOURCE_PARTITION],
            other[SOURCE_OFFSET],
        ):
            kept[key] = row
    return rows if len(kept) == len(rows) else list(kept.values())


def _event_rows(batch: Batch) -> list[tuple[Any, ...]]:
    if not batch.events:
        return first_copies(batch.rows)
    return first_copies([*batch.rows, *(event.copy_row(batch.topic) for event in batch.events)])


_DEAD_COPY = sql.SQL("copy pulse_batch_dead_letters ({}) from stdin").format(
    sql.SQL(", ").join(map(sql.Identifier, DEAD_LETTER_COLUMNS))
)
_DEAD_INSERT = sql.SQL(
    "insert into raw.dead_letter_events ({cols}) select {cols} from pulse_batch_dead_letters "
    "on conflict (source_topic, source_partition, source_epoch, source_offset) do nothing"
).format(cols=sql.SQL(", ").join(map(sql.Identifier, DEAD_LETTER_COLUMNS)))


class PostgresSink:
    """Writes batches to raw.* as `pulse_ingest`, and reads back the stored offsets.

    Every session carries `statement_timeout` and `lock_timeout`, so a hung statement or a lock
    held elsewhere turns into an error the consumer retries instead of a stalled ingest.
    """

    def __init__(
        self,
        dsn: str,
        consumer_group: str,
        *,
        statement_timeout_ms: int = 60_000,
        lock_timeout_ms: int = 10_000,
    ) -> None:
        self._dsn = dsn
        self._group = consumer_group
        self._timeouts = (statement_timeout_ms, lock_timeout_ms)
        self._conn: psycopg.Connection | None = None
        self._event_types: list[int] = []

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self._dsn, connect_timeout=5, application_name=APPLICATION_NAME)
            # Session settings, not DSN options: the DSN may carry options of its own.
            conn.execute(
                "select set_config('statement_timeout', %s, false), "
                "set_config('lock_timeout', %s, false)",
                [f"{self._timeouts[0]}ms", f"{self._timeouts[1]}ms"],
            )
            # Least privilege: a superuser DSN (the embedded stack) still writes as pulse_ingest.
            is_member = conn.execute(
                "select pg_has_role(current_user, %s, 'MEMBER')", [INGEST_ROLE]
            ).fetchone()
            if is_member and is_member[0]:
                conn.execute(sql.SQL("set role {}").format(sql.Identifier(INGEST_ROLE)))
            for temp, source, columns in (
                ("pulse_batch_events", "community_events", EVENT_COLUMNS),
                ("pulse_batch_dead_letters", "dead_letter_events", DEAD_LETTER_COLUMNS),
            ):
                conn.execute(
                    sql.SQL(
                        "create temp table if not exists {} on commit delete rows as "
                        "select {} from raw.{} with no data"
                    ).format(
                        sql.Identifier(temp),
                        sql.SQL(", ").join(map(sql.Identifier, columns)),
                        sql.Identifier(source),
                    )
                )
            # The binary COPY needs each column's exact type: taken from the temporary table
            # (so from raw.community_events), never assumed.
            self._event_types = [row[0] for row in conn.execute(_COLUMN_TYPES).fetchall()]
            register_copy_dumpers(conn)
            conn.commit()
            self._conn = conn
        return self._conn

    def reset(self) -> None:
        """Drop the connection after an error; the next call reconnects."""
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        self.reset()

    def stored_offsets(self, topic: str, partitions: list[int]) -> dict[int, int]:
        """The next offset stored per partition (partitions without a row are left out)."""
        positions = self.stored_positions(topic, partitions)
        return {partition: position.offset for partition, position in positions.items()}

    def stored_positions(self, topic: str, partitions: list[int]) -> dict[int, StoredPosition]:
        """Offset, epoch, topic id and last update per partition that has a row."""
        conn = self._connection()
        with conn.transaction():
            rows = conn.execute(
                "select partition, next_offset, epoch, topic_id, updated_at "
                "from raw.consumer_offsets "
                "where consumer_group = %s and topic = %s and partition = any(%s)",
                [self._group, topic, partitions],
            ).fetchall()
        return {row[0]: StoredPosition(*row[1:]) for row in rows}

    def record_gap(self, gap: Gap, expected_offset: int) -> int:
        """Record a gap and move the partition's stored offset to where ingest resumes.

        One transaction, fenced like a batch: when the stored offset is no longer
        `expected_offset`, another consumer owns the partition (OffsetFenceError).

        Returns:
            The partition's epoch from now on (one more when the offsets are reused).
        """
        conn = self._connection()
        with conn.transaction():
            row = conn.execute(
                "select next_offset, epoch from raw.consumer_offsets "
                "where consumer_group = %s and topic = %s and partition = %s for update",
                [self._group, gap.topic, gap.partition],
            ).fetchone()
            if row is None or row[0] != expected_offset:
                raise OffsetFenceError(
                    f"{gap.topic}[{gap.partition}]: stored offset is {row and row[0]}, "
                    f"this consumer expected {expected_offset}"
                )
            epoch = row[1] + (1 if gap.reuses_offsets else 0)
            conn.execute(
                "insert into raw.ingest_gaps (consumer_group, topic, partition, stored_offset, "
                "log_start_offset, log_end_offset, resume_offset, cause, epoch_before, "
                "epoch_after, topic_id_before, topic_id_after, lost_from) "
                "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    self._group,
                    gap.topic,
                    gap.partition,
                    gap.stored_offset,
                    gap.log_start,
                    gap.log_end,
                    gap.resume_offset,
                    gap.cause,
                    row[1],
                    epoch,
                    gap.topic_id_before,
                    gap.topic_id_after,
                    gap.lost_from,
                ],
            )
            conn.execute(
                "update raw.consumer_offsets set next_offset = %s, epoch = %s, "
                "topic_id = coalesce(%s, topic_id), updated_at = now() "
                "where consumer_group = %s and topic = %s and partition = %s",
                [
                    gap.resume_offset,
                    epoch,
                    gap.topic_id_after,
                    self._group,
                    gap.topic,
                    gap.partition,
                ],
            )
        return epoch

    def ensure_key_fingerprint(self, fingerprint: str) -> bool:
        """Refuse another pseudonym key than the warehouse's; adopt this one if it has none.

        Returns:
            True when this call recorded the fingerprint (a warehouse initialised without one).

        Raises:
            KeyMismatchError: the warehouse's member keys were made with another key.
        """
        conn = self._connection()
        with conn.transaction():
            # Two consumers starting at once: the partial unique index lets one insert win.
            adopted = conn.execute(
                "insert into raw.pseudonym_key (fingerprint) values (%s) on conflict do nothing",
                [fingerprint],
            ).rowcount
            row = conn.execute(
                "select fingerprint from raw.pseudonym_key where retired_at is null"
            ).fetchone()
        if row is None or row[0] != fingerprint:
            active = row[0][:12] if row else "none"
            raise KeyMismatchError(
                f"PULSE_PSEUDONYM_KEY is not this warehouse's pseudonym key (fingerprint "
                f"{fingerprint[:12]}, the warehouse's is {active}): refusing to ingest; see "
                "docs/runbook.md, Key rotation"
            )
        return adopted == 1

    def write(self, batch: Batch) -> BatchResult:
        """Commit a batch: its events, its dead letters and its partitions' next offsets.

        Commit order, the one place it is written down:
        1. the consumer has already produced the batch's dead letters to the DLQ topic and
           flushed them (so the DLQ topic is at-least-once; Postgres is exactly-once); those the
           DLQ topic refused for good carry `dlq_published = False` into their rows;
        2. here, in ONE transaction: lock the batch's offset rows and check they still hold the
           offsets this consumer started from (else OffsetFenceError: another consumer took
           over), COPY events (each event id once: `first_copies`) and dead letters into temp
           tables, insert-select them with ON CONFLICT DO NOTHING (a repeated event_id is stored
           once and counted as a duplicate), then store every partition's next offset;
        3. after this returns, the consumer commits the same offsets to Kafka, for lag tools only.
        A crash anywhere before the COMMIT leaves Postgres as it was and the records are read
        again from the stored offsets; a crash after it re-reads nothing.
        """
        conn = self._connection()
        with conn.transaction():
            self._check_fence(conn, batch)
            inserted = 0
            rows = _event_rows(batch)
            if rows:
                with conn.cursor().copy(_EVENT_COPY) as copy:
                    copy.set_types(self._event_types)
                    write_row = copy.write_row
                    for row in rows:
                        write_row(row)
                inserted = conn.execute(_EVENT_INSERT).rowcount
            if batch.dead_letters:
                with conn.cursor().copy(_DEAD_COPY) as copy:
                    for letter in batch.dead_letters:
                        copy.write_row(letter.copy_row())
                conn.execute(_DEAD_INSERT)
            with conn.cursor() as cur:
                cur.executemany(
                    "insert into raw.consumer_offsets "
                    "(consumer_group, topic, partition, next_offset, topic_id, updated_at) "
                    "values (%s, %s, %s, %s, %s, now()) "
                    "on conflict (consumer_group, topic, partition) do update set "
                    "next_offset = excluded.next_offset, updated_at = now(), "
                    "topic_id = coalesce(excluded.topic_id, raw.consumer_offsets.topic_id)",
                    [
                        (self._group, batch.topic, partition, offset, batch.topic_id)
                        for partition, offset in sorted(batch.next_offsets.items())
                    ],
                )
            result = BatchResult(
                messages=batch.messages,
                inserted=inserted,
                duplicates=batch.valid - inserted,
                dead_letters=len(batch.dead_letters),
            )
            conn.execute(
                "insert into raw.ingest_batches (consumer_group, messages, inserted, duplicates, "
                "dead_letters, first_polled_at) values (%s, %s, %s, %s, %s, %s)",
                [
                    self._group,
                    result.messages,
                    result.inserted,
                    result.duplicates,
                    result.dead_letters,
                    batch.first_polled_at,
                ],
            )
        return result

    def _check_fence(self, conn: psycopg.Connection, batch: Batch) -> None:
        partitions = sorted(batch.next_offsets)
        stored = dict(
            conn.execute(
                "select partition, next_offset from raw.consumer_offsets "
                "where consumer_group = %s and topic = %s and partition = any(%s) "
                "order by partition for update",
                [self._group, batch.topic, partitions],
            ).fetchall()
        )
        for partition in partitions:
            if stored.get(partition) != batch.expected_offsets.get(partition):
                raise OffsetFenceError(
                    f"{batch.topic}[{partition}]: stored offset is {stored.get(partition)}, "
                    f"this consumer expected {batch.expected_offsets.get(partition)}"
                )
