"""Real producers compress: the consumer must decode gzip, snappy, lz4 and zstd record batches.

The local broker does not serve compressed batches (docs/runbook.md), so this goes through
kafka-python's own record-batch builder and reader: the same code path the consumer's fetcher
uses on a compressed batch from Apache Kafka. It fails when a codec library is missing.
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
