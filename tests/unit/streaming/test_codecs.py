"""Real producers compress: the consumer must decode gzip, snappy, lz4 and zstd record batches.

The local broker does not serve compressed batches (docs/runbook.md), so this goes through
kafka-python's own record-batch builder and reader: the same code path the consumer's fetcher
uses on a compressed batch from Apache Kafka. It fails when a codec library is missing, and
when kafka-python checks CRCs without the crc32c C extension.
"""

from __future__ import annotations

import json

import pytest
from kafka.record.default_records import DefaultRecordBatch
from kafka.record.memory_records import MemoryRecords, MemoryRecordsBuilder

VALUES = [
    json.dumps({"event_id": str(i), "payload": {"text": "x" * 50}}).encode() for i in range(50)
]


@pytest.mark.parametrize(
    "codec",
    [
        DefaultRecordBatch.CODEC_GZIP,
        DefaultRecordBatch.CODEC_SNAPPY,
        DefaultRecordBatch.CODEC_LZ4,
        DefaultRecordBatch.CODEC_ZSTD,
    ],
    ids=["gzip", "snappy", "lz4", "zstd"],
)
def test_compressed_record_batch_round_trips_through_kafka_python(codec: int) -> None:
    builder = MemoryRecordsBuilder(magic=2, compression_type=codec, batch_size=1 << 20)
    for i, value in enumerate(VALUES):
        builder.append(timestamp=1_700_000_000_000 + i, key=b"community-1", value=value)
    builder.close()
    raw = builder.buffer()
    assert len(raw) < sum(map(len, VALUES)), "the batch was not compressed"

    batch = MemoryRecords(raw).next_batch()
    assert batch.compression_type == codec
    records = list(batch)
    assert [r.value for r in records] == VALUES
    assert {r.key for r in records} == {b"community-1"}


def test_record_batch_crcs_are_checked_by_the_crc32c_c_extension() -> None:
    # Without the `crc32c` package kafka-python silently falls back to a pure-Python CRC-32C
    # (~7 MB/s, about 64 us per 450-byte event: most of a consumer's CPU), so its absence must
    # fail here rather than show up as a slow consumer.
    import crc32c
    from kafka.record import util

    # What the batch reader calls (its default argument is bound when kafka-python is imported).
    assert util.calc_crc32c.__defaults__ == (crc32c.crc32c,), "pure-Python CRC-32C in use"
    data = b"123456789"
    assert util.calc_crc32c(data) == 0xE3069283  # the CRC-32C check value (RFC 3720)
    assert util.calc_crc32c(data) == util.crc32c_py(data), "C and Python CRC-32C disagree"
