"""Record batches the Kafka client cannot be trusted with (streaming/records.py).

Pure: batches are built with kafka-python's own record-batch builder (the bytes a broker serves)
and, where a test needs a record no client would produce, patched by hand with the CRC fixed.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta

import pytest
from kafka.errors import CorruptRecordError
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords
from kafka.record.util import calc_crc32c

from streaming.decode import MAX_VALUE_BYTES, DeadLetter, Decoder
from streaming.errors import DecompressionLimitError
from streaming.privacy import Pseudonymizer
from streaming.records import (
    MAX_BATCH_DECOMPRESSED,
    ParsedRecord,
    Unreadable,
    install_decompression_bounds,
    read_batch,
    split_batches,
)

MIB = 1024 * 1024
PLACEHOLDER = "PLACEHOLDER-KEY"
CODECS = {
    "gzip": DefaultRecordBatch.CODEC_GZIP,
    "snappy": DefaultRecordBatch.CODEC_SNAPPY,
    "lz4": DefaultRecordBatch.CODEC_LZ4,
    "zstd": DefaultRecordBatch.CODEC_ZSTD,
}


def build(
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]],
    codec: int = 0,
    base_offset: int = 0,
) -> bytes:
    """One v2 batch as a broker serves it, at `base_offset`; PLACEHOLDER header keys become
    bytes that are not UTF-8 (same length, CRC recomputed)."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=codec,
        is_transactional=False,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=64 * MIB,
    )
    for offset, (key, value, headers) in enumerate(records):
        builder.append(offset, timestamp=1_700_000_000_000, key=key, value=value, headers=headers)
    data = bytearray(builder.build())
    bad = b"\xff\xfe\xfd" + PLACEHOLDER.encode()[3:]
    data = bytearray(bytes(data).replace(PLACEHOLDER.encode(), bad))
    struct.pack_into(">q", data, 0, base_offset)
    crc = calc_crc32c(memoryview(data)[DefaultRecordBatch.ATTRIBUTES_OFFSET :])
    struct.pack_into(">I", data, DefaultRecordBatch.CRC_OFFSET, crc)
    return bytes(data)


def kafka_python_reads(data: bytes) -> list[bytes | None]:
    return [record.value for record in MemoryRecords(data).next_batch()]


def hand_reads(data: bytes, from_offset: int = 0) -> list[ParsedRecord | Unreadable]:
    (batch,) = list(split_batches(data))
    return read_batch(batch, "t", 0, from_offset, max_value_bytes=MAX_VALUE_BYTES).items


@pytest.fixture(autouse=True)
def bounds() -> Iterator[None]:
    install_decompression_bounds()
    yield
    install_decompression_bounds()


def test_header_key_that_is_not_utf8_stops_kafka_python_but_not_the_hand_reader() -> None:
    data = build(
        [
            (b"c1", b"before", []),
            (b"c1", b"bad", [(PLACEHOLDER, b"v"), ("trace", b"1")]),
            (b"c1", b"after", []),
        ],
        base_offset=40,
    )
    with pytest.raises(CorruptRecordError):
        kafka_python_reads(data)
    items = hand_reads(data)
    assert [(type(i).__name__, i.offset) for i in items] == [
        ("ParsedRecord", 40),
        ("Unreadable", 41),
        ("ParsedRecord", 42),
    ]
    bad = items[1]
    assert isinstance(bad, Unreadable)
    assert (bad.reason, bad.key, bad.value) == ("undecodable_record", b"c1", b"bad")
    assert "not UTF-8" in bad.detail
    assert ("trace", b"1") in bad.headers
    assert [i.value for i in items if isinstance(i, ParsedRecord)] == [b"before", b"after"]


def test_hand_reader_starts_at_the_requested_offset_inside_a_batch() -> None:
    data = build([(None, f"v{i}".encode(), []) for i in range(5)], base_offset=10)
    assert [i.offset for i in hand_reads(data, from_offset=13)] == [13, 14]


def test_a_batch_failing_its_crc_is_one_offset_range() -> None:
    data = bytearray(build([(None, b"a", []), (None, b"b", []), (None, b"c", [])], base_offset=7))
    data[-1] ^= 0xFF
    (item,) = hand_reads(bytes(data))
    assert isinstance(item, Unreadable)
    assert (item.reason, item.offset, item.offset_last) == ("undecodable_record", 7, 9)
    assert "CRC" in item.detail


def test_a_broken_record_structure_keeps_the_records_before_it_and_ranges_the_rest() -> None:
    data = bytearray(build([(None, b"first", []), (None, b"second", []), (None, b"third", [])]))
    header = DefaultRecordBatch.HEADER_STRUCT.size
    first_length = data[header] >> 1  # zigzag varint, one byte for a small record
    data[header + 1 + first_length] = 0x7E  # the second record claims 63 bytes
    crc = calc_crc32c(memoryview(data)[DefaultRecordBatch.ATTRIBUTES_OFFSET :])
    struct.pack_into(">I", data, DefaultRecordBatch.CRC_OFFSET, crc)
    with pytest.raises(CorruptRecordError):
        kafka_python_reads(bytes(data))
    items = hand_reads(bytes(data))
    assert isinstance(items[0], ParsedRecord) and items[0].value == b"first"
    rest = items[-1]
    assert isinstance(rest, Unreadable) and (rest.offset, rest.offset_last) == (1, 2)


def test_truncated_batch_at_the_end_of_a_fetch_is_left_out() -> None:
    whole = build([(None, b"a", [])]) + build([(None, b"b", [])], base_offset=1)
    assert [b.base_offset for b in split_batches(whole[:-3])] == [0]


@pytest.mark.parametrize("codec", CODECS.values(), ids=CODECS.keys())
def test_bounded_codecs_read_what_kafka_python_wrote(codec: int) -> None:
    values = [f'{{"n": {i}, "pad": "{"x" * 300}"}}'.encode() for i in range(200)]
    data = build([(b"k", v, []) for v in values], codec=codec)
    assert len(data) < sum(map(len, values)), "the batch was not compressed"
    assert kafka_python_reads(data) == values
    assert [i.value for i in hand_reads(data)] == values


@pytest.mark.parametrize("codec", CODECS.values(), ids=CODECS.keys())
def test_a_batch_decompressing_past_the_bound_raises_a_corrupt_record_error(codec: int) -> None:
    install_decompression_bounds(limit=4 * MIB)
    data = build([(b"k", b"\x00" * (6 * MIB), [])], codec=codec)
    assert len(data) < MIB
    with pytest.raises(DecompressionLimitError):
        kafka_python_reads(data)


def test_a_codec_failure_is_a_corrupt_record_error_not_a_crash() -> None:
    data = bytearray(build([(b"k", b"x" * 5000, [])], codec=CODECS["gzip"]))
    header = DefaultRecordBatch.HEADER_STRUCT.size
    data[header + 20 : header + 40] = b"\x00" * 20
    crc = calc_crc32c(memoryview(data)[DefaultRecordBatch.ATTRIBUTES_OFFSET :])
    struct.pack_into(">I", data, DefaultRecordBatch.CRC_OFFSET, crc)
    with pytest.raises(CorruptRecordError):
        kafka_python_reads(bytes(data))
    (item,) = hand_reads(bytes(data))
    assert isinstance(item, Unreadable) and item.reason == "undecodable_record"


def test_a_decompressed_value_over_one_mib_read_by_kafka_python_is_oversized() -> None:
    # Within the client's bound the batch is read as usual; the decoder refuses the value.
    big = b'{"event_id": "' + b"9" * (2 * MIB) + b'"}'
    data = build([(b"c1", big, [])], codec=CODECS["gzip"])
    assert len(data) < 64 * 1024
    (value,) = kafka_python_reads(data)
    decoder = Decoder(Pseudonymizer("unit-key"), timedelta(minutes=5))
    letter = decoder.decode("t", 0, 0, b"c1", value, [])
    assert isinstance(letter, DeadLetter) and letter.reason == "oversized"


@pytest.mark.parametrize("codec", [CODECS["gzip"], CODECS["zstd"], CODECS["lz4"]], ids=str)
def test_hand_reader_skips_a_huge_value_without_holding_it(codec: int) -> None:
    huge = b"\x00" * (24 * MIB)
    data = build([(b"k", b"small-1", []), (b"k", huge, []), (b"k", b"small-2", [])], codec=codec)
    digest = hashlib.sha256(huge).hexdigest()
    del huge
    (batch,) = list(split_batches(data))
    tracemalloc.start()
    try:
        read = read_batch(batch, "t", 0, 0, max_value_bytes=MAX_VALUE_BYTES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    items = read.items
    assert read.decompressed > 24 * MIB and not read.broken
    assert peak < 6 * MIB, f"the hand reader held {peak / MIB:.1f} MiB"
    assert [type(i).__name__ for i in items] == ["ParsedRecord", "Unreadable", "ParsedRecord"]
    oversized = items[1]
    assert isinstance(oversized, Unreadable)
    assert (oversized.reason, oversized.value) == ("oversized", None)
    assert (oversized.value_size, oversized.value_sha256) == (24 * MIB, digest)


def test_hand_reader_gives_up_on_a_batch_past_its_total_bound() -> None:
    data = build([(b"k", b"\x00" * (3 * MIB), []) for _ in range(4)], codec=CODECS["zstd"])
    (batch,) = list(split_batches(data))
    read = read_batch(batch, "t", 0, 0, max_value_bytes=MAX_VALUE_BYTES, max_decompressed=5 * MIB)
    items = read.items
    assert read.broken
    assert isinstance(items[-1], Unreadable) and items[-1].offset_last == 3
    assert "decompresses to more than" in items[-1].detail


def test_a_batch_claiming_more_records_than_it_holds_is_broken_but_keeps_its_records() -> None:
    data = bytearray(build([(None, b"a", []), (None, b"b", [])]))
    struct.pack_into(">i", data, 57, 3)  # records count
    crc = calc_crc32c(memoryview(data)[DefaultRecordBatch.ATTRIBUTES_OFFSET :])
    struct.pack_into(">I", data, DefaultRecordBatch.CRC_OFFSET, crc)
    with pytest.raises(CorruptRecordError):
        kafka_python_reads(bytes(data))
    (batch,) = list(split_batches(bytes(data)))
    read = read_batch(batch, "t", 0, 0, max_value_bytes=MAX_VALUE_BYTES)
    assert read.broken
    assert [i.value for i in read.items if isinstance(i, ParsedRecord)] == [b"a", b"b"]


def test_gzip_with_several_members_is_read_whole() -> None:
    from streaming.records import _gzip_chunks

    payload = gzip.compress(b"a" * 10) + gzip.compress(b"b" * 10)
    assert b"".join(_gzip_chunks(payload)) == b"a" * 10 + b"b" * 10
    assert MAX_BATCH_DECOMPRESSED >= 16 * MIB
