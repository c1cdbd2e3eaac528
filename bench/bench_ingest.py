"""Ingest throughput: topic -> committed rows, beside a bare kafka-python read and a plain COPY.

Runs on the embedded stack (started in a temporary folder, torn down at the end) or on the
services named by PULSE_KAFKA_BOOTSTRAP / PULSE_PG_DSN when both are set (each consumer run then
gets a database of its own on that server, dropped at the end).

    .venv/bin/python bench/bench_ingest.py --events 200000

Prints one table, every figure from the same run: kafka-python's bare read and read +
json.loads of the topic, `pulse consume` with 1 and with 2 processes (poll to commit, as the
consumers recorded it), a binary COPY of the same rows and the sink's whole transaction for
them, the consumer's peak RSS at the `--events` backlog and at a `--backlog-events` one (1M by
default; 0 skips it), and the machine's load average before each measurement. Beside each
consume rate: how many cores the whole machine kept busy meanwhile (consumers, broker and
PostgreSQL share them), and from the 1-process run the most that more processes could reach
on this machine (its cores over those one process already keeps busy).

`--rss-only` measures the peak RSS alone (one consumer process per backlog, no other reads or
writes): memory figures hold on a busy machine, where the rates would not.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from kafka import KafkaConsumer, TopicPartition
from psycopg import sql

from pulse.local.generator import GeneratorConfig, generate, produce
from pulse.local.stack import LocalStack
from pulse.warehouse.init import init_warehouse
from streaming.decode import EVENT_COLUMNS, Decoder
from streaming.privacy import Pseudonymizer
from streaming.sink import Batch, PostgresSink, register_copy_dumpers
from streaming.topics import ensure_topics

KEY = "bench-pseudonym-key"


def load() -> str:
    """The 1-minute load average and the CPU count, e.g. `0.42/2`."""
    return f"{os.getloadavg()[0]:.2f}/{os.cpu_count()}"


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all the machine's CPUs so far (Linux /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def bare_read(bootstrap: str, topic: str, expected: int, decode_json: bool) -> float:
    """Messages per second read by a plain kafka-python consumer (no group, from the start)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    read, started = 0, time.perf_counter()
    while read < expected:
        for records in consumer.poll(timeout_ms=500, max_records=5000).values():
            read += len(records)
            if decode_json:
                for record in records:
                    with contextlib.suppress(ValueError):
                        json.loads(record.value)
    elapsed = time.perf_counter() - started
    consumer.close()
    return read / elapsed


@contextlib.contextmanager
def scratch_database(dsn: str, name: str) -> Iterator[str]:
    """A new database on the server of `dsn`, initialised as a warehouse, dropped afterwards."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    scratch = psycopg.conninfo.make_conninfo(dsn, dbname=name)
    try:
        init_warehouse(scratch)
        yield scratch
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


@dataclass
class ConsumeRun:
    """One `pulse consume` run until every message of its topic was committed."""

    messages: int
    seconds: float  # first poll to last commit, as the consumers recorded them
    wall: float  # from the start to the last commit, the group join included
    peak_mib: int  # peak RSS of the largest consumer process
    cpu_s: float  # of all consumer processes
    busy_cores: float  # the whole machine's (consumers, broker, PostgreSQL), first commit to last
    load: str = ""  # the load average before the run


def consume(env: dict[str, str], processes: int, dsn: str, expected: int) -> ConsumeRun:
    """Run `pulse consume --processes N` until every message of the topic is committed, then stop
    it (SIGTERM).

    The bench waits on what PostgreSQL holds, not on the consumers going idle: with two
    processes a rebalance can leave one waiting on the group longer than any idle bound.
    """
    command = [sys.executable, "-m", "pulse.cli", "consume"]
    if processes > 1:
        command += ["--processes", str(processes)]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    first_commit = None  # the machine's CPU when rows first arrived (the group has joined)
    peak = 0
    while (committed := committed_rate(dsn, allow_empty=True))[0] < expected:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"pulse consume stopped before committing {expected:,} messages")
        if committed[0] and first_commit is None:
            first_commit = cpu_jiffies()
        peak = max(peak, peak_rss_kib(process.pid))
        time.sleep(0.2)
    peak = max(peak, peak_rss_kib(process.pid))
    wall = time.perf_counter() - started
    busy_cores = 0.0
    if first_commit is not None:
        busy, total = (now - then for now, then in zip(cpu_jiffies(), first_commit, strict=True))
        busy_cores = (os.cpu_count() or 1) * busy / max(total, 1)
    process.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"pulse consume exited with {process.returncode}")
    # With --processes the parent waited for its children, so their CPU is in its usage.
    return ConsumeRun(*committed, wall, peak // 1024, usage.ru_utime + usage.ru_stime, busy_cores)


def peak_rss_kib(pid: int) -> int:
    """The largest peak RSS so far (VmHWM) of process `pid` and its children, in KiB.

    Not wait4's ru_maxrss: Linux starts a child's maximum at the peak of the process that
    started it (the address space it replaced at exec), so a consumer started by this bench
    after it had built 200k copy rows reported the bench's own peak, not its own.
    """
    peaks = []
    with contextlib.suppress(OSError):  # gone already
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for process in [str(pid), *children]:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{process}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]))
    return max(peaks, default=0)


def committed_rate(dsn: str, allow_empty: bool = False) -> tuple[int, float]:
    """Messages and seconds from the first poll to the last commit, as the consumers recorded."""
    with psycopg.connect(dsn) as conn:
        messages, first, last = conn.execute(
            "select sum(messages), min(first_polled_at), max(committed_at) from raw.ingest_batches"
        ).fetchone()
    if messages is None and allow_empty:
        return 0, 0.0
    return int(messages), (last - first).total_seconds()


def copy_rows(config: GeneratorConfig, topic: str, partitions: int) -> list[tuple[object, ...]]:
    """The rows the consumer would write for the generated events (its own decode path)."""
    decoder = Decoder(Pseudonymizer(KEY), timedelta(minutes=5))
    now = datetime.now(UTC)
    rows: list[tuple[object, ...]] = []

    class Record:
        __slots__ = ("headers", "key", "offset", "value")

        def __init__(self, offset: int, key: bytes | None, value: bytes | None) -> None:
            self.offset, self.key, self.value, self.headers = offset, key, value, None

    letters: list[object] = []
    for offset, message in enumerate(generate(config)):
        record = Record(offset, message.key, message.value)
        decoder.decode_records([record], topic, offset % partitions, 0, now, rows, letters)  # type: ignore[arg-type]
    # The generator resends some events (duplicates): raw keeps the first copy of each event id.
    event_id = EVENT_COLUMNS.index("event_id")
    seen: set[object] = set()
    return [row for row in rows if not (row[event_id] in seen or seen.add(row[event_id]))]


def plain_copy(dsn: str, rows: list[tuple[object, ...]]) -> float:
    """Rows per second of one binary COPY into an empty twin of raw.community_events (its
    indexes included): what PostgreSQL alone takes to load the rows."""
    with psycopg.connect(dsn) as conn:
        conn.execute("create temp table copy_bench (like raw.community_events including all)")
        types = [
            r[0]
            for r in conn.execute(
                "select atttypid from pg_attribute where attrelid = 'copy_bench'::regclass "
                "and attname = any(%s) order by array_position(%s, attname::text)",
                [list(EVENT_COLUMNS), list(EVENT_COLUMNS)],
            )
        ]
        register_copy_dumpers(conn)  # the sink's: uuid from UUID, jsonb from JSON text
        started = time.perf_counter()
        cols = ", ".join(EVENT_COLUMNS)
        with conn.cursor().copy(f"copy copy_bench ({cols}) from stdin (format binary)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return len(rows) / (time.perf_counter() - started)


def sink_writes(dsn: str, rows: list[tuple[object, ...]], topic: str) -> float:
    """Rows per second of the sink's own transactions (5,000 rows each: COPY into the temporary
    table, insert-select into raw.community_events, offsets, batch log) with nothing else
    running: the ceiling PostgreSQL puts on one consumer."""
    sink = PostgresSink(dsn, f"bench-sink-{uuid.uuid4().hex[:6]}")
    try:
        expected: int | None = None
        started = time.perf_counter()
        for at in range(0, len(rows), 5000):
            chunk = rows[at : at + 5000]
            batch = Batch(topic=topic, rows=list(chunk))
            batch.expected_offsets = {0: expected}
            batch.next_offsets = {0: at + len(chunk)}
            batch.first_polled_at = datetime.now(UTC)
            sink.write(batch)
            expected = at + len(chunk)
        return len(rows) / (time.perf_counter() - started)
    finally:
        sink.close()


class _Figures(list[tuple[str, str]]):
    """The table's rows, each also printed when it is measured (a long run shows progress)."""

    def append(self, row: tuple[str, str]) -> None:
        super().append(row)
        print(f"{row[0]:<38}{row[1]}", flush=True)


@contextlib.contextmanager
def services(state: Path) -> Iterator[tuple[str, str]]:
    """(bootstrap, dsn): the services named in the environment, or an embedded stack in `state`
    that is torn down afterwards."""
    if os.environ.get("PULSE_KAFKA_BOOTSTRAP") and os.environ.get("PULSE_PG_DSN"):
        yield os.environ["PULSE_KAFKA_BOOTSTRAP"], os.environ["PULSE_PG_DSN"]
        return
    stack = LocalStack(state)
    info = stack.up()
    try:
        yield info.kafka_bootstrap, info.pg_dsn
    finally:
        stack.down(purge=True)


def world(events: int) -> GeneratorConfig:
    return GeneratorConfig(events=events, invalid_share=0.001, duplicate_share=0.01, days=60)


def fill_topic(bootstrap: str, topic: str, partitions: int, config: GeneratorConfig) -> int:
    """Create `topic` (and its DLQ) and produce the generated events; the messages sent."""
    ensure_topics(bootstrap, {topic: partitions, f"{topic}.dlq": 1})
    print(f"producing ~{config.events:,} events to {topic} ...", flush=True)
    report = produce(generate(config), bootstrap, topic, show_progress=False)
    print(f"produced: {report}", flush=True)
    return sum(report.sent.values())


def measure_bare_reads(bootstrap: str, topic: str, total: int, figures: _Figures) -> float:
    """kafka-python's own rates on the topic; returns that of read + json.loads."""
    at = load()
    rate = bare_read(bootstrap, topic, total, decode_json=False)
    figures.append(("kafka-python bare read", f"{rate:>12,.0f} msg/s   load {at}"))
    at = load()
    json_rate = bare_read(bootstrap, topic, total, decode_json=True)
    figures.append(("kafka-python read + json.loads", f"{json_rate:>12,.0f} msg/s   load {at}"))
    return json_rate


def consume_into_scratch(
    env: dict[str, str], dsn: str, database: str, processes: int, total: int
) -> ConsumeRun:
    """One `pulse consume` run into a database of its own."""
    with scratch_database(dsn, database) as scratch:
        at = load()
        run = consume(
            {**env, "PULSE_PG_DSN": scratch, "PULSE_CONSUMER_GROUP": f"b-{database}"},
            processes,
            scratch,
            total,
        )
    run.load = at
    return run


def measure_consume(
    env: dict[str, str], dsn: str, database: str, processes: int, total: int, figures: _Figures
) -> tuple[float, ConsumeRun]:
    """`pulse consume` with `processes` processes; its events/s and the run."""
    run = consume_into_scratch(env, dsn, database, processes, total)
    ingest, consumer_cores = run.messages / run.seconds, run.cpu_s / run.seconds
    figures.append(
        (
            f"pulse consume, {processes} process{'es' if processes > 1 else ''}",
            f"{ingest:>12,.0f} events/s   load {run.load}; poll -> commit of {run.messages:,} "
            f"in {run.seconds:.1f} s (wall {run.wall:.1f} s from start to the last commit, incl. "
            f"group join); peak RSS {run.peak_mib} MiB; consumer CPU "
            f"{run.cpu_s * 1e6 / run.messages:.0f} us per message",
        )
    )
    figures.append(
        (
            "  cores busy meanwhile",
            f"{run.busy_cores:>12.2f} of {os.cpu_count()} (consumers {consumer_cores:.2f}, the "
            f"rest - broker, PostgreSQL, others - {max(run.busy_cores - consumer_cores, 0):.2f})",
        )
    )
    return ingest, run


def measure_copy(
    config: GeneratorConfig, topic: str, partitions: int, dsn: str, database: str, figures: _Figures
) -> None:
    """PostgreSQL's side alone: a plain binary COPY of the consumer's rows, then the sink's
    transactions for them."""
    rows = copy_rows(config, topic, partitions)
    with scratch_database(dsn, database) as scratch:
        at = load()
        copy_rate = plain_copy(scratch, rows)
        figures.append(("binary COPY of the same rows", f"{copy_rate:>12,.0f} rows/s   load {at}"))
        at = load()
        sink_rate = sink_writes(scratch, rows, topic)
        figures.append(("the sink's transactions alone", f"{sink_rate:>12,.0f} rows/s   load {at}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--backlog-events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument(
        "--rss-only",
        action="store_true",
        help="only the consumer's peak RSS at both backlogs (1 process; no rates of other reads)",
    )
    args = parser.parse_args()

    figures = _Figures()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as state, services(Path(state)) as (bootstrap, dsn):
        run = uuid.uuid4().hex[:8]
        topic = f"bench.events.{run}"
        config = world(args.events)
        total = fill_topic(bootstrap, topic, args.partitions, config)
        figures.append(("messages in topic", f"{total:>12,}"))
        env = {
            **os.environ,
            "PULSE_KAFKA_BOOTSTRAP": bootstrap,
            "PULSE_PSEUDONYM_KEY": KEY,
            "PULSE_EVENTS_TOPIC": topic,
            "PULSE_DLQ_TOPIC": f"{topic}.dlq",
            "PULSE_EVENTS_PARTITIONS": str(args.partitions),
        }
        database = f"pulse_bench_{run}"

        json_rate = None if args.rss_only else measure_bare_reads(bootstrap, topic, total, figures)
        one, single = measure_consume(env, dsn, f"{database}_p1", 1, total, figures)
        rss_small = single.peak_mib
        if json_rate is not None:
            figures.append(("  share of read + json.loads", f"{one / json_rate:>12.0%}"))
        # More processes add consumers, but every event still costs the broker and PostgreSQL
        # their share: this machine's cores bound what N can reach.
        if single.busy_cores:
            figures.append(
                (
                    "  most N processes can reach here",
                    f"{cores / single.busy_cores:>12.2f}x (all cores busy)",
                )
            )
        if not args.rss_only:
            two, _ = measure_consume(env, dsn, f"{database}_p2", 2, total, figures)
            figures.append(("  2 processes / 1 process", f"{two / one:>12.2f}x"))
            measure_copy(config, topic, args.partitions, dsn, f"{database}_copy", figures)
        figures.append((f"consumer peak RSS, {total:,} backlog", f"{rss_small:>12,} MiB"))

        if args.backlog_events:
            big = f"{topic}.backlog"
            big_total = fill_topic(bootstrap, big, args.partitions, world(args.backlog_events))
            backlog = consume_into_scratch(
                {**env, "PULSE_EVENTS_TOPIC": big, "PULSE_DLQ_TOPIC": f"{big}.dlq"},
                dsn,
                f"{database}_backlog",
                1,
                big_total,
            )
            figures.append(
                (
                    f"consumer peak RSS, {big_total:,} backlog",
                    f"{backlog.peak_mib:>12,} MiB   ({backlog.peak_mib / rss_small:.2f}x; "
                    f"{backlog.messages / backlog.seconds:,.0f} events/s, load {backlog.load})",
                )
            )

    print()
    for name, text in figures:
        print(f"{name:<38}{text}")


if __name__ == "__main__":
    main()
