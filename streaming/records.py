"""Kafka record batches read by hand, and bounds on what the Kafka client decompresses.

Two jobs, both about input the Kafka client cannot be trusted with:

- `install_decompression_bounds` gives kafka-python's record-batch reader codecs that stop at a
  bound: a small compressed batch that expands past it raises DecompressionLimitError (a
  CorruptRecordError) instead of filling memory, and a batch a codec cannot read raises a
  CorruptRecordError instead of an exception the client does not expect.
- `read_batch` reads one batch record by record, the way the client would, but tolerant: a
  record the client cannot parse (a header key that is not UTF-8, a broken structure) becomes an
  `Unreadable` item with its offset (or the batch's remaining offset range when the structure is
  lost), the records around it are returned, and a value over the size limit is skipped without
  being read into memory (its size and SHA-256 are computed on the way).
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from kafka.errors import CorruptRecordError
from kafka.record.util import calc_crc32c

from streaming.errors import DecompressionLimitError

MIB = 1024 * 1024
# What one batch may decompress to inside the Kafka client (it holds the whole batch in memory).
MAX_BATCH_DECOMPRESSED = 64 * MIB
# What reading a batch by hand may decompress in total (streamed, never held at once).
MAX_READ_DECOMPRESSED = 256 * MIB
_CHUNK = MIB

# Record batch v2 header (KIP-98): the fields read here and where the CRC'd part starts.
_HEADER = struct.Struct(">qiibIhiqqqhii")
_CRC_FROM = struct.calcsize(">qiibI")
_CODEC_MASK, _TRANSACTIONAL, _CONTROL = 0x07, 0x10, 0x20


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """A readable record, shaped like kafka-python's ConsumerRecord where the consumer reads it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A record (or offset range) that becomes a dead letter without being decoded."""

    reason: str  # "undecodable_record" or "oversized"
    offset: int
    detail: str
    offset_last: int | None = None
    key: bytes | None = None
    value: bytes | None = None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    value_size: int | None = None
    value_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class BatchView:
    """One complete record batch inside a fetch response."""

    base_offset: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    producer_id: int
    records_count: int
    data: memoryview  # the whole batch, header included

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.last_offset + 1

    @property
    def codec(self) -> int:
        return self.attributes & _CODEC_MASK

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & _CONTROL)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & _TRANSACTIONAL)


def split_batches(records: bytes) -> Iterator[BatchView]:
    """The complete batches of a fetch response's records (a truncated last one is left out)."""
    view = memoryview(records)
    pos = 0
    while pos + 17 <= len(view):  # base offset, length, leader epoch, magic
        base_offset, length = struct.unpack_from(">qi", view, pos)
        end = pos + 12 + length
        if length < 0 or end > len(view):
            return
        magic = view[pos + 16]
        if magic < 2 or length + 12 < _HEADER.size:
            # Message format v0/v1: only its offset range is read here.
            yield BatchView(base_offset, magic, 0, 0, 0, -1, 0, view[pos:end])
        else:
            fields = _HEADER.unpack_from(view, pos)
            yield BatchView(
                base_offset, magic, fields[4], fields[5], fields[6], fields[9], fields[12],
                view[pos:end],
            )  # fmt: skip
        pos = end


@dataclass(frozen=True, slots=True)
class BatchRead:
    """What reading one batch by hand gave."""

    items: list[ParsedRecord | Unreadable]
    decompressed: int  # bytes the records decompressed to
    broken: bool  # the structure (or CRC, or codec) failed: the Kafka client stops here


def read_batch(
    batch: BatchView,
    topic: str,
    partition: int,
    from_offset: int,
    *,
    max_value_bytes: int,
    max_decompressed: int = MAX_READ_DECOMPRESSED,
) -> BatchRead:
    """The records of `batch` at or after `from_offset`, read one by one.

    Never raises for bad input: what cannot be read becomes `Unreadable` items.
    """
    if batch.magic != 2:
        return BatchRead([_range(batch, from_offset, f"message format v{batch.magic}")], 0, True)
    if calc_crc32c(batch.data[_CRC_FROM:]) != batch.crc:
        return BatchRead([_range(batch, from_offset, "record batch fails its CRC check")], 0, True)
    if batch.is_control:
        return BatchRead([], 0, False)
    items: list[ParsedRecord | Unreadable] = []
    next_offset = batch.base_offset
    stream = _Stream(_chunks(batch.codec, batch.data[_HEADER.size :]), max_decompressed)
    try:
        for _ in range(batch.records_count):
            item = _read_record(stream, batch, topic, partition, max_value_bytes)
            next_offset = item.offset + 1
            if item.offset >= from_offset:
                items.append(item)
    except (CorruptRecordError, EOFError, ValueError, zlib.error, RuntimeError) as error:
        # The structure is lost from here on: the batch's remaining offsets are one range.
        start = max(next_offset, from_offset)
        if start <= batch.last_offset:
            items.append(_range(batch, start, f"record structure unreadable: {error}"))
        return BatchRead(items, stream.produced, True)
    return BatchRead(items, stream.produced, False)


def _range(batch: BatchView, start: int, detail: str) -> Unreadable:
    start = max(start, batch.base_offset)
    last = max(batch.last_offset, start)
    return Unreadable(
        "undecodable_record", start, detail, offset_last=last if last > start else None
    )


def _read_record(
    stream: _Stream, batch: BatchView, topic: str, partition: int, max_value_bytes: int
) -> ParsedRecord | Unreadable:
    length = stream.varint()
    begin = stream.position
    stream.read(1)  # attributes: unused in v2 records
    stream.varint()  # timestamp delta
    offset = batch.base_offset + stream.varint()
    key = stream.nullable_bytes(max_value_bytes)
    value_len = stream.varint()
    value: bytes | None = None
    if value_len > max_value_bytes:
        digest = hashlib.sha256()
        stream.skip(value_len, digest)
        too_big = (value_len, digest.hexdigest())
    else:
        too_big = None
        value = stream.read(value_len) if value_len >= 0 else None
    problems = []
    headers: list[tuple[str, bytes | None]] = []
    count = stream.varint()
    if count < 0:
        raise CorruptRecordError(f"invalid number of record headers {count}")
    for _ in range(count):
        raw_key = stream.read(stream.varint())
        try:
            name = raw_key.decode("utf-8")
        except UnicodeDecodeError:
            name = raw_key.decode("utf-8", "replace")
            problems.append("a header key is not UTF-8")
        headers.append((name, stream.nullable_bytes(max_value_bytes)))
    if stream.position - begin != length:
        raise CorruptRecordError(f"record of {length} bytes at offset {offset} is malformed")
    if problems:
        return Unreadable(
            "undecodable_record", offset, "; ".join(problems), key=key, value=value,
            headers=headers, value_size=too_big and too_big[0], value_sha256=too_big and too_big[1],
        )  # fmt: skip
    if too_big is not None:
        return Unreadable(
            "oversized",
            offset,
            f"value of {too_big[0]} bytes exceeds {max_value_bytes} (not read into memory)",
            key=key,
            headers=headers,
            value_size=too_big[0],
            value_sha256=too_big[1],
        )
    return ParsedRecord(topic, partition, offset, key, value, headers)


class _Stream:
    """Bytes from a chunk iterator, read exactly or skipped, with a bound on the total."""

    def __init__(self, chunks: Iterator[bytes], limit: int) -> None:
        self._chunks = chunks
        self._limit = limit
        self._buffer = b""
        self._at = 0
        self.position = 0  # bytes consumed
        self.produced = 0  # bytes decompressed so far

    def _more(self) -> None:
        chunk = next(self._chunks, None)
        if chunk is None:
            raise EOFError("record batch ends early")
        self.produced += len(chunk)
        if self.produced > self._limit:
            raise DecompressionLimitError(f"decompresses to more than {self._limit} bytes")
        self._buffer = self._buffer[self._at :] + chunk
        self._at = 0

    def read(self, n: int) -> bytes:
        if n < 0:
            raise CorruptRecordError(f"negative length {n}")
        while len(self._buffer) - self._at < n:
            self._more()
        data = self._buffer[self._at : self._at + n]
        self._at += n
        self.position += n
        return data

    def skip(self, n: int, digest: hashlib._Hash) -> None:
        while n > 0:
            if self._at >= len(self._buffer):
                self._more()
            take = min(n, len(self._buffer) - self._at)
            digest.update(self._buffer[self._at : self._at + take])
            self._at += take
            self.position += take
            n -= take

    def varint(self) -> int:
        shift = result = 0
        while True:
            byte = self.read(1)[0]
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1)  # zigzag
            shift += 7
            if shift > 63:
                raise CorruptRecordError("varint too long")

    def nullable_bytes(self, limit: int) -> bytes | None:
        n = self.varint()
        if n > limit:
            raise CorruptRecordError(f"a key or header of {n} bytes")
        return self.read(n) if n >= 0 else None


# -- codecs ------------------------------------------------------------------------------------


def _chunks(codec: int, data: memoryview) -> Iterator[bytes]:
    """The decompressed bytes of a batch's records, in chunks of at most about 1 MiB."""
    if codec == 0:
        return iter([bytes(data)])
    decoders: dict[int, Callable[[bytes], Iterator[bytes]]] = {
        1: _gzip_chunks,
        2: _snappy_chunks,
        3: _lz4_chunks,
        4: _zstd_chunks,
    }
    if codec not in decoders:
        raise CorruptRecordError(f"unknown compression codec {codec}")
    return decoders[codec](bytes(data))


def _gzip_chunks(data: bytes) -> Iterator[bytes]:
    while data:
        inflater = zlib.decompressobj(wbits=31)
        pending = data
        while not inflater.eof:
            out = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            if out:
                yield out
            elif not pending:
                raise EOFError("gzip stream ends early")
        data = inflater.unused_data  # a gzip stream may hold several members


_XERIAL_MAGIC = b"\x82SNAPPY\x00"


def _snappy_chunks(data: bytes) -> Iterator[bytes]:
    import snappy

    if not data.startswith(_XERIAL_MAGIC):
        yield _snappy_block(snappy, data)
        return
    pos = 16
    while pos < len(data):
        (size,) = struct.unpack_from(">i", data, pos)
        yield _snappy_block(snappy, data[pos + 4 : pos + 4 + size])
        pos += 4 + size


def _snappy_block(snappy: object, block: bytes) -> bytes:
    # A snappy block starts with its decompressed length: check it before decompressing.
    declared = shift = 0
    for byte in block[:5]:
        declared |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    if declared > MAX_BATCH_DECOMPRESSED:
        raise DecompressionLimitError(f"a snappy block declares {declared} bytes")
    return snappy.decompress(block)  # type: ignore[attr-defined, no-any-return]


def _lz4_chunks(data: bytes) -> Iterator[bytes]:
    import lz4.frame

    decompressor = lz4.frame.LZ4FrameDecompressor()
    pending = data
    while not decompressor.eof:
        out = decompressor.decompress(pending, max_length=_CHUNK)
        pending = b""
        if out:
            yield out
        elif decompressor.needs_input:
            raise EOFError("lz4 frame ends early")


def _zstd_chunks(data: bytes) -> Iterator[bytes]:
    import zstandard

    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    with reader:
        while chunk := reader.read(_CHUNK):
            yield chunk


def _bounded(codec: int, limit: int) -> Callable[[bytes], bytes]:
    def decode(payload: bytes) -> bytes:
        out = bytearray()
        try:
            for chunk in _chunks(codec, memoryview(payload)):
                out += chunk
                if len(out) > limit:
                    raise DecompressionLimitError(
                        f"a record batch decompresses to more than {limit} bytes"
                    )
        except CorruptRecordError:
            raise
        except Exception as error:  # any codec's own error: the client sees a corrupt batch
            raise CorruptRecordError(f"cannot decompress a record batch: {error!r}") from error
        return bytes(out)

    return decode


def install_decompression_bounds(limit: int = MAX_BATCH_DECOMPRESSED) -> None:
    """Make kafka-python's record-batch reader decompress at most `limit` bytes per batch.

    kafka-python decompresses a whole batch at once with unbounded codecs and offers no hook, so
    its module's codec functions are replaced (idempotent; same output for batches within the
    bound). The consumer installs this before it fetches anything.
    """
    import kafka.record.default_records as default_records

    default_records.gzip_decode = _bounded(1, limit)  # type: ignore[attr-defined]
    default_records.snappy_decode = _bounded(2, limit)  # type: ignore[attr-defined]
    default_records.lz4_decode = _bounded(3, limit)  # type: ignore[attr-defined]
    default_records.zstd_decode = _bounded(4, limit)  # type: ignore[attr-defined]
