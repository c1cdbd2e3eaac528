"""The consumer's Prometheus endpoint (README, "How to operate"), scraped over HTTP from a running
`pulse consume` on the real broker and PostgreSQL.

The counters must agree with what Postgres holds and with what the generator sent; the lag of
each partition must be 0 once everything is stored and exactly what was produced to it while
Postgres is away (the consumer reads it, cannot store it).
"""

from __future__ import annotations

import signal
import socket
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from support.ingest import (
    Expected,
    Samples,
    answers,
    expect_from_generated,
    lags,
    read_topic,
    scrape,
    start_consumer,
    start_postgres,
    stored,
    tail,
    value,
    wait_exit,
    wait_for_log,
    wait_until,
)

from pulse.local.generator import GeneratedMessage, GeneratorConfig, generate, produce
from pulse.local.stack import LocalStack, free_port
from pulse.settings import Settings
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _produce(settings: Settings, seed: int, events: int) -> list[GeneratedMessage]:
    assert settings.kafka_bootstrap is not None
    config = GeneratorConfig(seed=seed, events=events, duplicate_share=0.02, invalid_share=0.02)
    messages = list(generate(config))
    produce(messages, settings.kafka_bootstrap, settings.events_topic, show_progress=False)
    return messages


def _expected(settings: Settings, messages: list[GeneratedMessage]) -> Expected:
    assert settings.kafka_bootstrap is not None
    records = read_topic(settings.kafka_bootstrap, settings.events_topic, expected=len(messages))
    return expect_from_generated(records, messages)


def _dsn(settings: Settings) -> str:
    assert settings.pg_dsn is not None
    return settings.pg_dsn.get_secret_value()


def _assert_counters_match(samples: Samples, settings: Settings, expected: Expected) -> None:
    held = stored(_dsn(settings), settings.consumer_group, settings.events_topic)
    assert value(samples, "pulse_ingest_events_total") == held.inserted == len(expected.events)
    assert value(samples, "pulse_ingest_duplicates_total") == held.duplicates
    assert held.duplicates == len(expected.duplicates)
    assert value(samples, "pulse_ingest_messages_total") == held.messages == expected.total
    by_reason = Counter(expected.dead_letters.values())
    assert by_reason, "the generator sent invalid messages"
    for reason, count in by_reason.items():
        assert value(samples, "pulse_ingest_dead_letters_total", reason=reason) == count, reason
    with psycopg.connect(_dsn(settings)) as conn:
        batches = conn.execute(
            "select count(*) from raw.ingest_batches where consumer_group = %s",
            [settings.consumer_group],
        ).fetchone()[0]
    assert value(samples, "pulse_ingest_batches_total") == batches
    assert value(samples, "pulse_ingest_batch_seconds_count") == batches
    assert value(samples, "pulse_ingest_commit_seconds_count") == batches


def test_metrics_endpoint_serves_counters_and_per_partition_lag_while_the_consumer_runs(
    settings: Settings, local_stack: LocalStack, tmp_path: Path
) -> None:
    assert settings.kafka_bootstrap is not None
    ensure_topics(settings.kafka_bootstrap, pipeline_topics(settings))
    port = free_port()
    log = tmp_path / "consumer.log"
    first = _produce(settings, seed=81, events=3000)
    process = start_consumer(settings, log, batch_max_events=500, PULSE_METRICS_PORT=str(port))
    try:
        wait_until(lambda: answers(port), 60, f"the metrics endpoint on port {port}")
        expected = _expected(settings, first)

        # 1. Everything stored: the counters are Postgres's, every partition's lag is 0.
        def caught_up() -> bool:
            samples = scrape(port)
            return value(samples, "pulse_ingest_messages_total") >= expected.total and lags(
                samples
            ) == {p: 0 for p in expected.counts}

        wait_until(caught_up, 120, f"the consumer to catch up:\n{tail(log)}")
        samples = scrape(port)
        _assert_counters_match(samples, settings, expected)
        assert value(samples, "pulse_ingest_partitions") == len(expected.counts)
        last_commit = value(samples, "pulse_ingest_last_commit_timestamp_seconds")
        assert time.time() - 120 < last_commit <= time.time()

        # 2. Postgres away: what arrives is read but not stored, so it is each partition's lag.
        local_stack.stop_postgres()
        try:
            second = _produce(settings, seed=82, events=600)
            records = read_topic(
                settings.kafka_bootstrap, settings.events_topic, expected=len(first + second)
            )
            ends = Counter(r.partition for r in records)
            behind = {p: ends[p] - expected.counts.get(p, 0) for p in ends}
            assert sum(behind.values()) == len(second)
            wait_until(
                lambda: lags(scrape(port)) == behind,
                60,
                f"lag {behind} per partition (saw {lags(scrape(port))})",
            )
            during = scrape(port)
            assert value(during, "pulse_ingest_events_total") == len(expected.events)
            assert value(during, "pulse_ingest_last_commit_timestamp_seconds") == last_commit
        finally:
            start_postgres(local_stack)

        # 3. Postgres back: the batch is retried, the lag goes back to 0, the counters add up.
        expected = _expected(settings, first + second)
        wait_until(caught_up, 120, f"the consumer to catch up after the outage:\n{tail(log)}")
        _assert_counters_match(scrape(port), settings, expected)
        process.send_signal(signal.SIGTERM)
        assert wait_exit(process, 60, log) == 0, tail(log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_consumer_whose_metrics_port_is_taken_refuses_to_start_in_one_line(
    settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "consumer.log"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_consumer(
            settings, log, PULSE_METRICS_PORT=str(port), PULSE_METRICS_HOST="127.0.0.1"
        )
        assert wait_exit(process, 60, log) == 1, tail(log)
    wait_for_log(log, f"error: cannot serve metrics on 127.0.0.1:{port}", 5)
    assert "Traceback" not in log.read_text()
