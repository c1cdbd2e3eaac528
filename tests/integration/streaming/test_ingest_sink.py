"""`PostgresSink.write` against a real PostgreSQL: one transaction per batch, first copy of an
event wins, offset fencing, and dead letters that must fit the `jsonb` column.

No broker here: batches are built from `EventRow`s and `Decoder` output, as the consumer does.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from streaming.decode import DeadLetter, Decoder, EventRow
from streaming.errors import OffsetFenceError
from streaming.privacy import Pseudonymizer
from streaming.sink import Batch, PostgresSink

pytestmark = pytest.mark.integration

TOPIC = "community.events.v1"
GROUP = "pulse-ingest"


def _row(event_id: str, offset: int, padding: int, partition: int = 0) -> EventRow:
    return EventRow(
        event_id=event_id,
        event_type="post.created",
        schema_version=1,
        occurred_at=datetime(2026, 5, 1, tzinfo=UTC),
        community_id="acme.micro.plant_care",
        member_key="a" * 64,
        platform="discord",
        payload_json=json.dumps(
            {"post_id": f"p{offset}", "author_role": "member", "content_type": "text"}
            | ({"tags": ["x" * padding]} if padding else {})
        ),
        sentiment=None,
        sentiment_source=None,
        text_length=None,
        source_partition=partition,
        source_offset=offset,
    )


def _batch(
    events: list[EventRow],
    expected: int | None,
    dead_letters: list[DeadLetter] | None = None,
    partition: int = 0,
) -> Batch:
    last = max([e.source_offset for e in events] + [d.source_offset for d in dead_letters or []])
    return Batch(
        topic=TOPIC,
        events=events,
        dead_letters=dead_letters or [],
        expected_offsets={partition: expected},
        next_offsets={partition: last + 1},
        first_polled_at=datetime.now(UTC),
    )


def _stored_offsets(dsn: str) -> dict[int, int]:
    with psycopg.connect(dsn) as conn:
        return dict(
            conn.execute("select partition, next_offset from raw.consumer_offsets").fetchall()
        )


def _count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"select count(*) from raw.{table}").fetchone()[0]


def test_event_sent_twice_in_one_batch_is_stored_from_its_first_occurrence(pg_dsn: str) -> None:
    # Rows of varying width, half of them resends of one of the ten rows before (the way
    # producer retries look), in 20 batches of one session. The row kept must be the first
    # one, whatever the heap layout of the batch's temporary table: INSERT ... SELECT without
    # ORDER BY follows the heap, and the heap reuses free space of earlier pages for narrow
    # rows.
    rng = random.Random(1)
    sink = PostgresSink(pg_dsn, GROUP)
    first: dict[str, int] = {}
    offset = 0
    expected: int | None = None
    try:
        for _ in range(20):
            rows: list[EventRow] = []
            for i in range(250):
                if i >= 4 and rng.random() < 0.5:
                    original = rows[rng.randint(max(0, i - 10), i - 1)]
                    row = _row(original.event_id, offset + i, 0)
                    row.payload_json = original.payload_json
                else:
                    event_id = str(uuid.UUID(int=rng.getrandbits(128)))
                    row = _row(event_id, offset + i, rng.randint(50, 400))
                first.setdefault(row.event_id, row.source_offset)
                rows.append(row)
            sink.write(_batch(rows, expected))
            expected = offset = offset + len(rows)
    finally:
        sink.close()
    with psycopg.connect(pg_dsn) as conn:
        stored = {
            str(event_id): source_offset
            for event_id, source_offset in conn.execute(
                "select event_id, source_offset from raw.community_events"
            )
        }
    assert stored.keys() == first.keys()
    later_copies = {e: (first[e], o) for e, o in stored.items() if first[e] != o}
    assert not later_copies, (
        f"{len(later_copies)} events stored from a resend instead of their first occurrence "
        f"(event: (first, stored)): {dict(list(later_copies.items())[:3])}"
    )


def test_duplicates_within_and_across_batches_are_stored_once_and_counted(pg_dsn: str) -> None:
    ids = [str(uuid.uuid4()) for _ in range(4)]
    sink = PostgresSink(pg_dsn, GROUP)
    try:
        first = sink.write(
            _batch([_row(ids[0], 0, 10), _row(ids[1], 1, 10), _row(ids[0], 2, 10)], None)
        )
        second = sink.write(
            _batch([_row(ids[1], 3, 10), _row(ids[2], 4, 10), _row(ids[3], 5, 10)], 3)
        )
    finally:
        sink.close()
    assert (first.messages, first.inserted, first.duplicates) == (3, 2, 1)
    assert (second.messages, second.inserted, second.duplicates) == (3, 2, 1)
    assert _count(pg_dsn, "community_events") == 4
    assert _stored_offsets(pg_dsn) == {0: 6}
    with psycopg.connect(pg_dsn) as conn:
        totals = conn.execute(
            "select count(*), sum(messages), sum(inserted), sum(duplicates) from raw.ingest_batches"
        ).fetchone()
    assert totals == (2, 6, 4, 2)


def test_batch_of_a_consumer_that_lost_its_partition_is_fenced_off(pg_dsn: str) -> None:
    owner, zombie = PostgresSink(pg_dsn, GROUP), PostgresSink(pg_dsn, GROUP)
    try:
        owner.write(_batch([_row(str(uuid.uuid4()), 0, 10)], None))
        # The zombie took the partition when nothing was stored yet, and writes late.
        with pytest.raises(OffsetFenceError):
            zombie.write(_batch([_row(str(uuid.uuid4()), 0, 10)], None))
        with pytest.raises(OffsetFenceError):
            zombie.write(_batch([_row(str(uuid.uuid4()), 1, 10)], 0))
    finally:
        owner.close()
        zombie.close()
    assert _count(pg_dsn, "community_events") == 1
    assert _count(pg_dsn, "ingest_batches") == 1
    assert _stored_offsets(pg_dsn) == {0: 1}


def test_failed_batch_leaves_no_row_no_dead_letter_and_no_offset(pg_dsn: str) -> None:
    letter = DeadLetter(
        source_topic=TOPIC,
        source_partition=0,
        source_offset=1,
        key=None,
        value=b"{",
        headers=[],
        reason="not_a_reason_of_the_design",  # the table's check constraint refuses it
        detail="x",
    )
    sink = PostgresSink(pg_dsn, GROUP)
    try:
        with pytest.raises(psycopg.errors.CheckViolation):
            sink.write(_batch([_row(str(uuid.uuid4()), 0, 10)], None, [letter]))
    finally:
        sink.close()
    assert _count(pg_dsn, "community_events") == 0
    assert _count(pg_dsn, "dead_letter_events") == 0
    assert _count(pg_dsn, "ingest_batches") == 0
    assert _stored_offsets(pg_dsn) == {}


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_dead_letter_of_a_value_with_a_non_finite_number_is_stored(
    pg_dsn: str, number: str
) -> None:
    # Python's json reads NaN/Infinity/1e999; jsonb accepts none of them. A dead letter must
    # still be storable, or the batch fails on every retry and the stream stops.
    value = (
        '{"event_id": "10000000-0000-4000-8000-000000000005", "event_type": "comment.created", '
        '"schema_version": 1, "occurred_at": "2026-05-02T13:00:00Z", "community_id": "c1", '
        '"member_id": "u1", "payload": {"comment_id": "c1", "post_id": "p1", '
        f'"author_role": "member", "sentiment": {number}}}}}'
    ).encode()
    decoder = Decoder(Pseudonymizer("sink-test-key"), timedelta(minutes=5))
    letter = decoder.decode(TOPIC, 0, 0, b"c1", value, [])
    assert isinstance(letter, DeadLetter)
    assert letter.reason == "invalid_json"
    sink = PostgresSink(pg_dsn, GROUP)
    try:
        sink.write(_batch([], None, [letter]))
    finally:
        sink.close()
    assert _count(pg_dsn, "dead_letter_events") == 1
    assert _stored_offsets(pg_dsn) == {0: 1}
