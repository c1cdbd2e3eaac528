"""The Postgres sink: one transaction per batch holding rows, dead letters and next offsets."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg import sql

from streaming.decode import DEAD_LETTER_COLUMNS, EVENT_COLUMNS, DeadLetter, EventRow
from streaming.errors import OffsetFenceError

logger = logging.getLogger(__name__)

INGEST_ROLE = "pulse_ingest"


@dataclass
class Batch:
    """What the consumer collected since its last commit, for one topic.

    `expected_offsets` holds, per partition, the offset stored in Postgres when this consumer
    took the partition (None: no row yet); `next_offsets` the offset after the last record read.
    """

    topic: str
    events: list[EventRow] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    expected_offsets: dict[int, int | None] = field(default_factory=dict)
    next_offsets: dict[int, int] = field(default_factory=dict)
    first_polled_at: datetime | None = None

    @property
    def messages(self) -> int:
        return len(self.events) + len(self.dead_letters)


@dataclass(frozen=True)
class BatchResult:
    messages: int
    inserted: int
    duplicates: int
    dead_letters: int


_EVENT_COPY = sql.SQL("copy pulse_batch_events ({}) from stdin").format(
    sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
)
_EVENT_INSERT = sql.SQL(
    "insert into raw.community_events ({cols}) "
    # ORDER BY: within a batch, as across batches, the first copy of an event_id wins.
    "select {cols} from pulse_batch_events order by source_partition, source_offset "
    "on conflict (event_id) do nothing"
).format(cols=sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS)))
_DEAD_COPY = sql.SQL("copy pulse_batch_dead_letters ({}) from stdin").format(
    sql.SQL(", ").join(map(sql.Identifier, DEAD_LETTER_COLUMNS))
)
_DEAD_INSERT = sql.SQL(
    "insert into raw.dead_letter_events ({cols}) select {cols} from pulse_batch_dead_letters "
    "on conflict (source_topic, source_partition, source_offset) do nothing"
).format(cols=sql.SQL(", ").join(map(sql.Identifier, DEAD_LETTER_COLUMNS)))


class PostgresSink:
    """Writes batches to raw.* as `pulse_ingest`, and reads back the stored offsets."""

    def __init__(self, dsn: str, consumer_group: str) -> None:
        self._dsn = dsn
        self._group = consumer_group
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self._dsn, connect_timeout=5)
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
        conn = self._connection()
        with conn.transaction():
            rows = conn.execute(
                "select partition, next_offset from raw.consumer_offsets "
                "where consumer_group = %s and topic = %s and partition = any(%s)",
                [self._group, topic, partitions],
            ).fetchall()
        return {partition: offset for partition, offset in rows}

    def write(self, batch: Batch) -> BatchResult:
        """Commit a batch: its events, its dead letters and its partitions' next offsets.

        Commit order, the one place it is written down:
        1. the consumer has already produced the batch's dead letters to the DLQ topic and
           flushed them (so the DLQ topic is at-least-once; Postgres is exactly-once);
        2. here, in ONE transaction: lock the batch's offset rows and check they still hold the
           offsets this consumer started from (else OffsetFenceError: another consumer took
           over), COPY events and dead letters into temp tables, insert-select them with
           ON CONFLICT DO NOTHING (a repeated event_id is stored once and counted as a duplicate),
           then store every partition's next offset;
        3. after this returns, the consumer commits the same offsets to Kafka, for lag tools only.
        A crash anywhere before the COMMIT leaves Postgres as it was and the records are read
        again from the stored offsets; a crash after it re-reads nothing.
        """
        conn = self._connection()
        with conn.transaction():
            self._check_fence(conn, batch)
            inserted = 0
            if batch.events:
                with conn.cursor().copy(_EVENT_COPY) as copy:
                    for row in batch.events:
                        copy.write_row(row.copy_row(batch.topic))
                inserted = conn.execute(_EVENT_INSERT).rowcount
            if batch.dead_letters:
                with conn.cursor().copy(_DEAD_COPY) as copy:
                    for letter in batch.dead_letters:
                        copy.write_row(letter.copy_row())
                conn.execute(_DEAD_INSERT)
            with conn.cursor() as cur:
                cur.executemany(
                    "insert into raw.consumer_offsets "
                    "(consumer_group, topic, partition, next_offset, updated_at) "
                    "values (%s, %s, %s, %s, now()) on conflict (consumer_group, topic, partition) "
                    "do update set next_offset = excluded.next_offset, updated_at = now()",
                    [
                        (self._group, batch.topic, partition, offset)
                        for partition, offset in sorted(batch.next_offsets.items())
                    ],
                )
            result = BatchResult(
                messages=batch.messages,
                inserted=inserted,
                duplicates=len(batch.events) - inserted,
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
