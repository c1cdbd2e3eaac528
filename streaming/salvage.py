"""Reading past a record batch the Kafka client cannot parse.

When kafka-python meets a record it cannot parse (a header key that is not UTF-8, a broken
structure, a failed CRC, a batch over the decompression bound) it raises from `poll()` at that
position on every call, so one bad record would stall the partition for good. The consumer then
fetches that partition's data itself (one raw Fetch request to the partition's leader), reads the
batches record by record with streaming.records up to and including the first one the client
cannot read, and seeks the client past it: the readable records are ingested as usual, the rest
become dead letters with their offsets (or offset range).
"""

from __future__ import annotations

import logging
import socket
import struct
from dataclasses import dataclass, field

from kafka import KafkaAdminClient

from streaming.records import (
    MAX_BATCH_DECOMPRESSED,
    BatchRead,
    BatchView,
    ParsedRecord,
    Unreadable,
    read_batch,
    split_batches,
)

logger = logging.getLogger(__name__)

_FETCH_KEY, _FETCH_VERSION = 1, 5  # Fetch v5: log start offset, read_committed
READ_COMMITTED = 1


@dataclass(frozen=True)
class FetchedPartition:
    """One partition of a Fetch response."""

    error_code: int
    high_watermark: int
    log_start_offset: int
    aborted: list[tuple[int, int]]  # (producer id, first offset) of aborted transactions
    records: bytes


@dataclass
class Salvage:
    """What reading a partition by hand found, from the client's position onwards."""

    partition: int
    items: list[ParsedRecord | Unreadable] = field(default_factory=list)
    next_offset: int = 0  # where the client resumes: just after the batch it could not read

    @property
    def unreadable(self) -> list[Unreadable]:
        return [item for item in self.items if isinstance(item, Unreadable)]


def salvage_partition(
    admin: KafkaAdminClient,
    topic: str,
    partition: int,
    position: int,
    *,
    max_value_bytes: int,
    max_bytes: int = 16 * 1024 * 1024,
    timeout_s: float = 10.0,
) -> Salvage | None:
    """Read `topic[partition]` from `position` by hand, up to the first batch the client cannot.

    Returns:
        The records and dead letters from `position` through that batch, or None when the
        partition's data at `position` is readable by the client (it is not the one that failed).

    Raises:
        OSError, KafkaError: the leader could not be reached; the caller retries later.
    """
    host, port = _leader(admin, topic, partition)
    fetched = fetch(
        host, port, topic, partition, position, max_bytes=max_bytes, timeout_s=timeout_s
    )
    if fetched.error_code != 0:
        return None  # an error the client reports itself (out of range, not leader, ...)
    salvage = Salvage(partition, next_offset=position)
    aborted = sorted(fetched.aborted, key=lambda item: item[1])
    aborting: set[int] = set()
    for batch in split_batches(fetched.records):
        if batch.next_offset <= position:
            continue
        # read_committed, as the client reads: skip batches of aborted transactions.
        while aborted and aborted[0][1] <= batch.last_offset:
            aborting.add(aborted.pop(0)[0])
        if batch.is_transactional and batch.producer_id in aborting:
            if batch.is_control:
                aborting.discard(batch.producer_id)
            salvage.next_offset = batch.next_offset
            continue
        read = read_batch(batch, topic, partition, position, max_value_bytes=max_value_bytes)
        salvage.items.extend(read.items)
        salvage.next_offset = batch.next_offset
        if _client_cannot_read(read):
            return salvage
    return None


def _client_cannot_read(read: BatchRead) -> bool:
    # What makes kafka-python stop: a batch it cannot parse, a record in it it cannot parse, or
    # a batch past its decompression bound (an oversized value alone does not: the client reads
    # it, the decoder rejects it).
    unparsable = any(
        isinstance(item, Unreadable) and item.reason == "undecodable_record" for item in read.items
    )
    return read.broken or unparsable or read.decompressed > MAX_BATCH_DECOMPRESSED


def _leader(admin: KafkaAdminClient, topic: str, partition: int) -> tuple[str, int]:
    leader = None
    for described in admin.describe_topics([topic]):
        for p in described.get("partitions") or []:
            if p["partition_index"] == partition:
                leader = p["leader_id"]
    brokers = {b["broker_id"]: (b["host"], b["port"]) for b in admin.describe_cluster()["brokers"]}
    if leader not in brokers:
        raise OSError(f"no leader known for {topic}[{partition}]")
    return brokers[leader]


# -- the wire: one Fetch v5 request ---------------------------------------------------------------


def fetch(
    host: str,
    port: int,
    topic: str,
    partition: int,
    offset: int,
    *,
    max_bytes: int,
    timeout_s: float = 10.0,
    client_id: str = "pulse-salvage",
) -> FetchedPartition:
    """One Fetch (v5, read_committed) of one partition, over its own connection."""
    body = (
        struct.pack(">iiiib", -1, 100, 1, max_bytes, READ_COMMITTED)
        + struct.pack(">i", 1)
        + _string(topic)
        + struct.pack(">i", 1)
        + struct.pack(">iqqi", partition, offset, -1, max_bytes)
    )
    header = struct.pack(">hhi", _FETCH_KEY, _FETCH_VERSION, 1) + _string(client_id)
    request = header + body
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _receive(sock, 4))
        response = _Reader(_receive(sock, size))
    response.int32()  # correlation id
    response.int32()  # throttle time
    for _ in range(response.int32()):
        name = response.string()
        for _ in range(response.int32()):
            index, error_code = response.int32(), response.int16()
            high_watermark, _last_stable, log_start = (
                response.int64(),
                response.int64(),
                response.int64(),
            )
            aborted = [
                (response.int64(), response.int64()) for _ in range(max(response.int32(), 0))
            ]
            records = response.bytes()
            if name == topic and index == partition:
                return FetchedPartition(error_code, high_watermark, log_start, aborted, records)
    raise OSError(f"the fetch response holds no data for {topic}[{partition}]")


def _string(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">h", len(data)) + data


def _receive(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise OSError("the broker closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def _take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self._data, self._at)
        self._at += struct.calcsize(fmt)
        return int(value)

    def int16(self) -> int:
        return self._take(">h")

    def int32(self) -> int:
        return self._take(">i")

    def int64(self) -> int:
        return self._take(">q")

    def string(self) -> str:
        n = self.int16()
        value = self._data[self._at : self._at + max(n, 0)].decode("utf-8", "replace")
        self._at += max(n, 0)
        return value

    def bytes(self) -> bytes:
        n = self.int32()
        value = self._data[self._at : self._at + max(n, 0)]
        self._at += max(n, 0)
        return value


__all__ = ["BatchView", "FetchedPartition", "Salvage", "fetch", "salvage_partition"]
