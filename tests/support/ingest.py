"""Helpers of the ingest integration tests: produce, read topics back, run the consumer, and
compare what Postgres holds with what the topic holds.

The broker side is always *counted*, never trusted: `end_offsets()` can under-report on Tansu
(docs/runbook.md), so topics are read back from the beginning with `assign()` until the expected
number of messages has arrived and nothing more comes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.util import calc_crc32c

from pulse.local.generator import GeneratedMessage
from pulse.local.stack import LocalStack
from pulse.settings import Settings
from streaming.consumer import IngestConfig

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Record:
    """One message as the broker serves it."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


# -- broker --------------------------------------------------------------------------------------


def producer(bootstrap: str) -> KafkaProducer:
    """Uncompressed (Tansu serves no compressed batches), big requests allowed (2 MiB values)."""
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=5,
        compression_type=None,
        max_request_size=8 * MIB,
    )


def produce_exactly(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]],
) -> list[tuple[int, int]]:
    """Send (key, value, headers) in order; returns each one's (partition, offset)."""
    sender = producer(bootstrap)
    try:
        futures = [
            sender.send(topic, key=key, value=value, headers=headers or None)
            for key, value, headers in messages
        ]
        sender.flush(timeout=60)
        metadata = [future.get(timeout=30) for future in futures]
    finally:
        sender.close()
    return [(m.partition, m.offset) for m in metadata]


def read_topic(
    bootstrap: str,
    topic: str,
    expected: int | None = None,
    timeout_s: float = 60.0,
    settle_s: float = 1.5,
) -> list[Record]:
    """Every message of `topic`, read from the beginning of every partition with `assign()`.

    Reads until `expected` messages have arrived (then `settle_s` more, to catch any extra), or,
    without `expected`, until nothing new came for `settle_s`.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=8 * MIB,
        fetch_max_bytes=64 * MIB,
        consumer_timeout_ms=int(timeout_s * 1000),
    )
    try:
        deadline = time.monotonic() + timeout_s
        partitions = None
        while not partitions and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                time.sleep(0.2)
        assert partitions, f"topic {topic} has no partitions"
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list[Record] = []
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            polled = consumer.poll(timeout_ms=200, max_records=10_000)
            for batch in polled.values():
                for r in batch:
                    headers = tuple((k, bytes(v)) for k, v in (r.headers or []))
                    records.append(Record(r.partition, r.offset, r.key, r.value, headers))
            if polled:
                last_new = time.monotonic()
            quiet = time.monotonic() - last_new >= settle_s
            if quiet and (expected is None or len(records) >= expected):
                break
        if expected is not None:
            assert len(records) >= expected, (
                f"read {len(records)} of {expected} messages of {topic} in {timeout_s:.0f} s"
            )
        records.sort(key=lambda r: (r.partition, r.offset))
        return records
    finally:
        consumer.close()


def counts_by_partition(records: Iterable[Record]) -> dict[int, int]:
    """Messages per partition, checking offsets run 0, 1, 2, ... without gaps."""
    by_partition: dict[int, list[int]] = {}
    for r in records:
        by_partition.setdefault(r.partition, []).append(r.offset)
    for partition, offsets in by_partition.items():
        assert sorted(offsets) == list(range(len(offsets))), f"gaps in partition {partition}"
    return {p: len(o) for p, o in by_partition.items()}


# -- expectations ----------------------------------------------------------------------------------


@dataclass
class Expected:
    """What ingest must make of a topic's records, per source position."""

    counts: dict[int, int]  # messages per partition
    events: dict[str, tuple[int, int]]  # event_id -> (partition, offset) of its first occurrence
    dead_letters: dict[tuple[int, int], str]  # (partition, offset) -> reason
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # positions of resends
    records: dict[tuple[int, int], Record] = field(default_factory=dict)
    # event_id -> every (partition, offset) that carries it (first occurrence and resends)
    occurrences: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def prefix(self, next_offsets: dict[int, int]) -> Expected:
        """What Postgres must hold once it stored `next_offsets` and nothing else."""

        def inside(position: tuple[int, int]) -> bool:
            return position[1] < next_offsets.get(position[0], 0)

        events = {e: pos for e, pos in self.events.items() if inside(pos)}
        return Expected(
            counts={p: next_offsets.get(p, 0) for p in self.counts},
            events=events,
            dead_letters={pos: r for pos, r in self.dead_letters.items() if inside(pos)},
            duplicates=[pos for pos in self.duplicates if inside(pos)],
            occurrences={e: [p for p in self.occurrences[e] if inside(p)] for e in events},
        )


def expect_from_generated(records: list[Record], messages: list[GeneratedMessage]) -> Expected:
    """Map every record read back to the generated message it carries (by its exact bytes)."""
    by_value: dict[bytes | None, GeneratedMessage] = {}
    for message in messages:
        if message.kind == "duplicate":
            continue
        assert message.value not in by_value, "generated values must be unique to be mapped"
        by_value[message.value] = message
    sent = Counter((m.key, m.value) for m in messages)
    read = Counter((r.key, r.value) for r in records)
    assert read == sent, "the broker does not serve exactly the produced messages"
    kinds = [(r, by_value[r.value]) for r in records]
    return _expected(records, [(r, m.kind, m.event_id, m.reason) for r, m in kinds])


def expect_from_labels(
    records: list[Record], labels: dict[tuple[int, int], tuple[str, str | None, str | None]]
) -> Expected:
    """Like `expect_from_generated`, from labels per position: (kind, event_id, reason)."""
    assert set(labels) == {(r.partition, r.offset) for r in records}
    return _expected(records, [(r, *labels[(r.partition, r.offset)]) for r in records])


def _expected(records: list[Record], labelled: list[tuple[Record, str, Any, Any]]) -> Expected:
    events: dict[str, tuple[int, int]] = {}
    dead_letters: dict[tuple[int, int], str] = {}
    duplicates: list[tuple[int, int]] = []
    occurrences: dict[str, list[tuple[int, int]]] = {}
    for record, kind, event_id, reason in sorted(
        labelled, key=lambda x: (x[0].partition, x[0].offset)
    ):
        position = (record.partition, record.offset)
        if kind == "invalid":
            dead_letters[position] = reason
            continue
        occurrences.setdefault(event_id, []).append(position)
        if event_id in events:
            duplicates.append(position)
        else:
            events[event_id] = position
    return Expected(
        counts=counts_by_partition(records),
        events=events,
        dead_letters=dead_letters,
        duplicates=duplicates,
        records={(r.partition, r.offset): r for r in records},
        occurrences=occurrences,
    )


# -- warehouse ---------------------------------------------------------------------------------


@dataclass
class Stored:
    """What raw.* holds after ingest."""

    events: dict[str, tuple[int, int]]
    dead_letters: dict[tuple[int, int], str]
    dead_letter_rows: int
    offsets: dict[int, int]
    inserted: int
    duplicates: int
    dead_letters_counted: int
    messages: int
    event_rows: int


def stored(dsn: str, group: str, topic: str) -> Stored:
    with psycopg.connect(dsn) as conn:
        events = {
            str(event_id): (partition, offset)
            for event_id, partition, offset in conn.execute(
                "select event_id, source_partition, source_offset from raw.community_events "
                "where source_topic = %s",
                [topic],
            )
        }
        event_rows = conn.execute("select count(*) from raw.community_events").fetchone()[0]
        letters = conn.execute(
            "select source_partition, source_offset, reason from raw.dead_letter_events "
            "where source_topic = %s",
            [topic],
        ).fetchall()
        offsets = dict(
            conn.execute(
                "select partition, next_offset from raw.consumer_offsets "
                "where consumer_group = %s and topic = %s",
                [group, topic],
            ).fetchall()
        )
        inserted, duplicates, dead, messages = conn.execute(
            "select coalesce(sum(inserted), 0), coalesce(sum(duplicates), 0), "
            "coalesce(sum(dead_letters), 0), coalesce(sum(messages), 0) "
            "from raw.ingest_batches where consumer_group = %s",
            [group],
        ).fetchone()
    return Stored(
        events=events,
        dead_letters={(p, o): reason for p, o, reason in letters},
        dead_letter_rows=len(letters),
        offsets=offsets,
        inserted=inserted,
        duplicates=duplicates,
        dead_letters_counted=dead,
        messages=messages,
        event_rows=event_rows,
    )


def assert_stored_exactly(actual: Stored, expected: Expected) -> None:
    """Postgres holds each expected event once, each expected dead letter once, nothing else,
    and the stored offsets and batch counters agree with exactly that."""
    missing = expected.events.keys() - actual.events.keys()
    extra = actual.events.keys() - expected.events.keys()
    assert not missing and not extra, (
        f"{len(missing)} events missing (e.g. {sorted(missing)[:3]}), "
        f"{len(extra)} unexpected (e.g. {sorted(extra)[:3]})"
    )
    # Each row points at a message that carries its event. Which copy of an event sent twice
    # is kept is checked on its own (test_ingest_sink.py), not here.
    elsewhere = {
        e: position
        for e, position in actual.events.items()
        if position not in expected.occurrences[e]
    }
    assert not elsewhere, f"rows point at messages without their event: {_first(elsewhere)}"
    assert actual.event_rows == len(expected.events)
    assert actual.dead_letter_rows == len(actual.dead_letters), "a dead letter is stored twice"
    assert actual.dead_letters == expected.dead_letters
    assert actual.offsets == {p: n for p, n in expected.counts.items() if n > 0}
    assert actual.inserted == len(expected.events), "sum(inserted) of batches != stored rows"
    assert actual.duplicates == len(expected.duplicates)
    assert actual.dead_letters_counted == len(expected.dead_letters)
    assert actual.messages == expected.total


def _first(mapping: dict[Any, Any], n: int = 5) -> dict[Any, Any]:
    return dict(list(mapping.items())[:n])


# -- consumer ------------------------------------------------------------------------------------


def in_process_config(
    settings: Settings, stop_when_idle_s: float = 2.0, **overrides: Any
) -> IngestConfig:
    assert settings.kafka_bootstrap and settings.pg_dsn and settings.pseudonym_key
    values: dict[str, Any] = {
        "bootstrap": settings.kafka_bootstrap,
        "pg_dsn": settings.pg_dsn.get_secret_value(),
        "pseudonym_key": settings.pseudonym_key.get_secret_value(),
        "topic": settings.events_topic,
        "dlq_topic": settings.dlq_topic,
        "group": settings.consumer_group,
        "stop_when_idle_s": stop_when_idle_s,
    }
    values.update(overrides)
    return IngestConfig(**values)


def consumer_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `pulse consume` process for these settings."""
    assert settings.kafka_bootstrap and settings.pg_dsn and settings.pseudonym_key
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(
        {
            "PULSE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "PULSE_PG_DSN": settings.pg_dsn.get_secret_value(),
            "PULSE_PSEUDONYM_KEY": settings.pseudonym_key.get_secret_value(),
            "PULSE_STATE_DIR": str(settings.state_dir),
            "PULSE_EVENTS_TOPIC": settings.events_topic,
            "PULSE_DLQ_TOPIC": settings.dlq_topic,
            "PULSE_METRICS_TOPIC": settings.metrics_topic,
            "PULSE_ALERTS_TOPIC": settings.alerts_topic,
            "PULSE_EVENTS_PARTITIONS": str(settings.events_partitions),
            "PULSE_CONSUMER_GROUP": settings.consumer_group,
            "COLUMNS": "240",  # rich wraps log lines at the terminal width: keep them whole
        }
    )
    env.update(extra)
    return env


def start_consumer(
    settings: Settings,
    log: Path,
    stop_when_idle_s: float | None = None,
    batch_max_events: int | None = None,
    **env: str,
) -> subprocess.Popen[bytes]:
    """`pulse consume` as a child process (same interpreter), output appended to `log`; `env`
    adds environment variables (PULSE_* settings)."""
    extra = dict(env)
    if batch_max_events is not None:
        extra["PULSE_BATCH_MAX_EVENTS"] = str(batch_max_events)
    command = [sys.executable, "-m", "pulse.cli", "consume"]
    if stop_when_idle_s is not None:
        command += ["--stop-when-idle", str(stop_when_idle_s)]
    with log.open("ab") as out:
        out.write(f"\n--- {' '.join(command[1:])}\n".encode())
        out.flush()
        return subprocess.Popen(
            command,
            env=consumer_env(settings, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def wait_exit(process: subprocess.Popen[bytes], timeout_s: float, log: Path) -> int:
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(
            f"the consumer did not exit within {timeout_s:.0f} s; its log:\n{tail(log)}"
        ) from None


def tail(log: Path, lines: int = 40) -> str:
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def batches_committed(dsn: str, group: str) -> int:
    """Committed batches so far; -1 while Postgres does not answer."""
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            return conn.execute(
                "select count(*) from raw.ingest_batches where consumer_group = %s", [group]
            ).fetchone()[0]
    except psycopg.OperationalError:
        return -1


def start_postgres(local_stack: LocalStack, attempts: int = 3) -> None:
    """Bring the embedded PostgreSQL back after an outage a test caused.

    Retried: another pytest session starting on the same machine makes pytest's shared temporary
    root private again, which can race with the server's system user reaching its data folder.
    """
    for attempt in range(attempts):
        if local_stack.postgres_running():
            return
        try:
            local_stack.start_postgres()
            return
        except subprocess.CalledProcessError:
            if attempt == attempts - 1:
                raise
            time.sleep(1)


def wait_until(
    predicate: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def wait_for_log(log: Path, text: str, timeout_s: float, after: int = 0) -> int:
    """Wait until `log` holds `text` after character `after`; returns where it ends."""

    def found() -> bool:
        return log.exists() and text in log.read_text(errors="replace")[after:]

    wait_until(found, timeout_s, f"{text!r} in the consumer's log:\n{tail(log)}")
    return log.read_text(errors="replace").index(text, after) + len(text)


def log_size(log: Path) -> int:
    return len(log.read_text(errors="replace")) if log.exists() else 0


def ingest_backends(dsn: str) -> list[tuple[int, str | None, str | None]]:
    """(pid, wait_event_type, state) of the ingest sessions (application_name pulse-ingest) of
    the database `dsn` names."""
    with psycopg.connect(dsn, connect_timeout=2) as conn:
        return conn.execute(
            "select pid, wait_event_type, state from pg_stat_activity "
            "where application_name = 'pulse-ingest' and datname = current_database()"
        ).fetchall()


# -- the broker's process --------------------------------------------------------------------------


def broker_pid(local_stack: LocalStack) -> int:
    return int(local_stack.kafka_pid_file.read_text())


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[None]:
    """SIGSTOP `pid` for the block (it keeps its memory, so the broker keeps its messages), then
    SIGCONT, even when the block fails."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


# -- records no client would produce ---------------------------------------------------------

NOT_UTF8_PLACEHOLDER = "PLACEHOLDER-HEADER-KEY"


def record_batch(
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]],
) -> bytes:
    """A v2 record batch whose header keys named NOT_UTF8_PLACEHOLDER become bytes that are not
    UTF-8 (same length, CRC recomputed): what kafka-python refuses to parse."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=False,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 24,
    )
    for offset, (key, value, headers) in enumerate(records):
        builder.append(offset, timestamp=None, key=key, value=value, headers=headers)
    placeholder = NOT_UTF8_PLACEHOLDER.encode()
    data = bytes(builder.build()).replace(placeholder, b"\xff\xfe" + placeholder[2:])
    patched = bytearray(data)
    crc = calc_crc32c(memoryview(patched)[DefaultRecordBatch.ATTRIBUTES_OFFSET :])
    struct.pack_into(">I", patched, DefaultRecordBatch.CRC_OFFSET, crc)
    return bytes(patched)


def produce_raw(bootstrap: str, topic: str, partition: int, batch: bytes) -> int:
    """Send a record batch as it is, in one Produce (v3) request to the single embedded broker;
    returns the base offset the broker gave it."""

    def string(value: str) -> bytes:
        return struct.pack(">h", len(value)) + value.encode()

    body = (
        struct.pack(">hhi", -1, -1, 10_000)  # no transactional id, acks=all, timeout
        + struct.pack(">i", 1)
        + string(topic)
        + struct.pack(">ii", 1, partition)
        + struct.pack(">i", len(batch))
        + batch
    )
    request = struct.pack(">hhi", 0, 3, 1) + string("pulse-test-raw") + body
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", _receive(sock, 4))[0]
        response = _receive(sock, size)
    # correlation id, [topic [partition, error, base offset, log append time]], throttle
    at = 4 + 4 + 2 + len(topic) + 4
    _, error, base_offset = struct.unpack_from(">ihq", response, at)
    assert error == 0, f"the broker refused the batch (error {error})"
    return int(base_offset)


def _receive(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "the broker closed the connection"
        data += chunk
    return data


# -- the metrics endpoint --------------------------------------------------------------------

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    """Every sample of the endpoint: (name, sorted labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def lags(samples: Samples) -> dict[int, float]:
    return {
        int(dict(labels)["partition"]): v
        for (name, labels), v in samples.items()
        if name == "pulse_ingest_lag"
    }


def answers(port: int) -> bool:
    """True when the metrics endpoint on `port` answers."""
    try:
        scrape(port)
    except OSError:
        return False
    return True
