"""Records the Kafka client cannot parse never stall ingest (docs/contracts.md, "Ingest").

kafka-python raises CorruptRecordError from `poll()` at a record whose header key is not UTF-8,
at a batch that fails its CRC and at a broken record structure, on every call: before, `pulse
consume` exited 1 there and every restart died at the same offset. Such batches are produced here
as raw bytes (no client would write them) in the middle of valid traffic; the consumer must read
past them, store every valid event around them and make the rest `undecodable_record` dead
letters with their offsets (or offset range).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import psycopg
import pytest
from kafka.record.util import calc_crc32c
from support.ingest import (
    NOT_UTF8_PLACEHOLDER,
    produce_exactly,
    produce_raw,
    read_topic,
    record_batch,
    start_consumer,
    tail,
    wait_exit,
)

from pulse.local.generator import GeneratorConfig, generate
from pulse.settings import Settings
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = pytest.mark.integration


def _varint(data: bytearray, at: int) -> tuple[int, int]:
    """(zigzag value, bytes used) of the varint at `at`."""
    value = shift = used = 0
    while True:
        byte = data[at + used]
        value |= (byte & 0x7F) << shift
        used += 1
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), used
        shift += 7


def _broken_structure(records: list[tuple[bytes, bytes, list]]) -> bytes:
    """A batch whose second record claims a length it does not have (CRC still right)."""
    data = bytearray(record_batch(records))
    header = 61  # the v2 batch header
    first, used = _varint(data, header)
    second = header + used + first
    _, width = _varint(data, second)
    data[second : second + width] = b"\xfe" * (width - 1) + b"\x7e"  # same width, far too long
    struct.pack_into(">I", data, 17, calc_crc32c(memoryview(data)[21:]))
    return bytes(data)


def test_records_the_client_cannot_parse_become_dead_letters_and_ingest_goes_on(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.kafka_bootstrap is not None and settings.pg_dsn is not None
    bootstrap, topic = settings.kafka_bootstrap, settings.events_topic
    ensure_topics(bootstrap, pipeline_topics(settings))
    messages = list(
        generate(GeneratorConfig(seed=5, events=320, invalid_share=0, duplicate_share=0))
    )
    events = [(m.key, m.value, m.event_id) for m in messages]
    before, inside, after = events[:150], events[150:160], events[160:]

    positions = produce_exactly(bootstrap, topic, [(k, v, []) for k, v, _ in before])
    # One batch: a valid event, the poison (a valid value, a header key that is not UTF-8), and
    # a valid event the client never gets to.
    (k1, v1, id1), (k2, v2, _), (k3, v3, id3) = inside[:3]
    poison_at = produce_raw(
        bootstrap,
        topic,
        0,
        record_batch([(k1, v1, []), (k2, v2, [(NOT_UTF8_PLACEHOLDER, b"x")]), (k3, v3, [])]),
    )
    crc = bytearray(record_batch([(k, v, []) for k, v, _ in inside[3:6]]))
    crc[-1] ^= 0xFF
    crc_at = produce_raw(bootstrap, topic, 0, bytes(crc))
    (k7, v7, id7) = inside[6]
    broken_at = produce_raw(
        bootstrap,
        topic,
        0,
        _broken_structure([(k7, v7, []), *((k, v, []) for k, v, _ in inside[7:10])]),
    )
    positions += produce_exactly(bootstrap, topic, [(k, v, []) for k, v, _ in after])
    ends = {p: o + 1 for p, o in sorted(positions)}
    ends[0] = max([o + 1 for p, o in positions if p == 0] + [broken_at + 4])

    log = tmp_path / "consumer.log"
    process = start_consumer(settings, log, stop_when_idle_s=3)
    assert wait_exit(process, 180, log) == 0, tail(log)

    valid = {event_id for _, _, event_id in before + after} | {id1, id3, id7}
    with psycopg.connect(settings.pg_dsn.get_secret_value()) as conn:
        stored = {
            str(row[0])
            for row in conn.execute(
                "select event_id from raw.community_events where source_topic = %s", [topic]
            )
        }
        letters = conn.execute(
            "select source_partition, source_offset, source_offset_last, reason, dlq_published "
            "from raw.dead_letter_events where source_topic = %s order by source_offset",
            [topic],
        ).fetchall()
        offsets = dict(
            conn.execute(
                "select partition, next_offset from raw.consumer_offsets where topic = %s",
                [topic],
            ).fetchall()
        )
    assert stored == valid, f"{len(valid - stored)} valid events missing:\n{tail(log)}"
    assert letters == [
        (0, poison_at + 1, None, "undecodable_record", True),
        (0, crc_at, crc_at + 2, "undecodable_record", True),
        (0, broken_at + 1, broken_at + 3, "undecodable_record", True),
    ]
    assert offsets == ends, "every partition is read to its end"
    assert "reading it by hand" in log.read_text()

    # The DLQ topic: the poison with its original key and value, the ranges with their bounds.
    dlq = read_topic(bootstrap, settings.dlq_topic, expected=3)
    by_offset = {int(dict(m.headers)["pulse.source.offset"]): m for m in dlq}
    assert set(by_offset) == {poison_at + 1, crc_at, broken_at + 1}
    poison = by_offset[poison_at + 1]
    assert (poison.key, poison.value) == (k2, v2)
    assert dict(poison.headers)["pulse.error.reason"] == b"undecodable_record"
    assert dict(by_offset[crc_at].headers)["pulse.source.offset_last"] == str(crc_at + 2).encode()
    assert json.loads(v1)["event_id"] == id1
