"""Ingest throughput: topic -> committed rows, beside a bare kafka-python read and a plain COPY.

Runs on the embedded stack (started in a temporary folder, torn down at the end) or on the
services named by PULSE_KAFKA_BOOTSTRAP / PULSE_PG_DSN when both are set.

    .venv/bin/python bench/bench_ingest.py --events 300000

Prints one table: events/s for the three paths, the consumer's share of the bare read rate and the
consumer process's peak resident memory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from kafka import KafkaConsumer, TopicPartition

from pulse.local.generator import GeneratorConfig, generate, produce
from pulse.local.stack import LocalStack
from pulse.warehouse.init import init_warehouse
from streaming.decode import EVENT_COLUMNS, Decoder, EventRow
from streaming.privacy import Pseudonymizer
from streaming.topics import ensure_topics

KEY = "bench-pseudonym-key"


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


def plain_copy(dsn: str, rows: list[EventRow], topic: str) -> float:
    """Rows per second of one COPY of the same rows into an empty twin of raw.community_events."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "create temp table copy_bench as select * from raw.community_events with no data"
        )
        started = time.perf_counter()
        cols = ", ".join(EVENT_COLUMNS)
        with conn.cursor().copy(f"copy copy_bench ({cols}) from stdin") as copy:
            for row in rows:
                copy.write_row(row.copy_row(topic))
        conn.commit()
        return len(rows) / (time.perf_counter() - started)


def consumer_run(env: dict[str, str]) -> tuple[float, int]:
    """Run `pulse consume` as its own process; return wall seconds and its peak RSS in MiB."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pulse.cli", "consume", "--stop-when-idle", "3"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kib // 1024


def committed_rate(dsn: str) -> tuple[int, float]:
    """Messages and seconds from the first poll to the last commit, as the consumer recorded."""
    with psycopg.connect(dsn) as conn:
        messages, first, last = conn.execute(
            "select sum(messages), min(first_polled_at), max(committed_at) from raw.ingest_batches"
        ).fetchone()
    return int(messages), (last - first).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as state:
        stack = None
        if os.environ.get("PULSE_KAFKA_BOOTSTRAP") and os.environ.get("PULSE_PG_DSN"):
            bootstrap, dsn = os.environ["PULSE_KAFKA_BOOTSTRAP"], os.environ["PULSE_PG_DSN"]
        else:
            stack = LocalStack(Path(state))
            info = stack.up()
            bootstrap, dsn = info.kafka_bootstrap, info.pg_dsn
        try:
            init_warehouse(dsn)
            topic = f"bench.events.{uuid.uuid4().hex[:8]}"
            ensure_topics(bootstrap, {topic: args.partitions, f"{topic}.dlq": 1})

            config = GeneratorConfig(
                events=args.events, invalid_share=0.001, duplicate_share=0.01, days=60
            )
            print(f"producing ~{args.events:,} events to {topic} ...", flush=True)
            report = produce(generate(config), bootstrap, topic, show_progress=False)
            total = sum(report.sent.values())
            print(f"produced: {report}", flush=True)

            read_rate = bare_read(bootstrap, topic, total, decode_json=False)
            read_json_rate = bare_read(bootstrap, topic, total, decode_json=True)

            env = {
                **os.environ,
                "PULSE_KAFKA_BOOTSTRAP": bootstrap,
                "PULSE_PG_DSN": dsn,
                "PULSE_PSEUDONYM_KEY": KEY,
                "PULSE_EVENTS_TOPIC": topic,
                "PULSE_DLQ_TOPIC": f"{topic}.dlq",
                "PULSE_CONSUMER_GROUP": f"bench-{uuid.uuid4().hex[:6]}",
            }
            wall, peak_mib = consumer_run(env)
            messages, seconds = committed_rate(dsn)
            ingest_rate = messages / seconds

            decoder = Decoder(Pseudonymizer(KEY), timedelta(minutes=5))
            now = datetime.now(UTC)
            rows = [
                row
                for msg in generate(config)
                if msg.kind == "valid"
                and isinstance(
                    row := decoder.decode(topic, 0, 0, msg.key, msg.value, None, now), EventRow
                )
            ]
            copy_rate = plain_copy(dsn, rows, topic)
        finally:
            if stack is not None:
                stack.down(purge=True)

    print()
    print(f"messages in topic                 {total:>12,}")
    print(f"kafka-python bare read            {read_rate:>12,.0f} msg/s")
    print(f"kafka-python read + json.loads    {read_json_rate:>12,.0f} msg/s")
    print(
        f"pulse consume, poll -> commit     {ingest_rate:>12,.0f} events/s "
        f"({messages:,} in {seconds:.1f} s; process wall {wall:.1f} s incl. group join)"
    )
    print(f"  share of bare read rate         {ingest_rate / read_rate:>12.0%}")
    print(f"postgres COPY of the same rows    {copy_rate:>12,.0f} rows/s")
    print(f"consumer peak RSS                 {peak_mib:>12,} MiB")


if __name__ == "__main__":
    main()
