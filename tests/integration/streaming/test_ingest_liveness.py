"""Services never wedge ingest (docs/contracts.md, "Ingest"): the broker taken away (frozen with
SIGSTOP, so it keeps its memory-only messages) or not there yet, a consumer frozen past its
session timeout while another takes over, Postgres restarted, read-only or shut down by an
administrator, a revocation in the middle of a batch and a batch fenced off by another owner.

Each test drives its path and waits on what it can observe (committed batches, log lines, the
sessions Postgres shows) rather than on fixed sleeps; the only durations are the faults' own
(a freeze must outlast a timeout to be that fault).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from support.ingest import (
    Expected,
    assert_stored_exactly,
    batches_committed,
    broker_pid,
    expect_from_generated,
    frozen,
    in_process_config,
    ingest_backends,
    log_size,
    read_topic,
    start_consumer,
    start_postgres,
    stored,
    tail,
    wait_exit,
    wait_for_log,
    wait_until,
)

from pulse.local.generator import GeneratedMessage, GeneratorConfig, generate, produce
from pulse.local.stack import LocalStack
from pulse.settings import Settings
from streaming.consumer import IngestConsumer
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REQUEST_TIMEOUT_MS = 8000  # the consumer's, for the freeze tests: a freeze must outlast it
SESSION_TIMEOUT_S = 6.0  # the consumer's (streaming/consumer.py)


def _dsn(settings: Settings) -> str:
    assert settings.pg_dsn is not None
    return settings.pg_dsn.get_secret_value()


def _bootstrap(settings: Settings) -> str:
    assert settings.kafka_bootstrap is not None
    return settings.kafka_bootstrap


def _produce(settings: Settings, seed: int, events: int) -> list[GeneratedMessage]:
    messages = list(
        generate(
            GeneratorConfig(seed=seed, events=events, duplicate_share=0.02, invalid_share=0.01)
        )
    )
    produce(messages, _bootstrap(settings), settings.events_topic, show_progress=False)
    return messages


def _expected(settings: Settings, messages: list[GeneratedMessage]) -> Expected:
    records = read_topic(_bootstrap(settings), settings.events_topic, expected=len(messages))
    return expect_from_generated(records, messages)


def _all_stored(settings: Settings, expected: Expected) -> bool:
    try:
        return stored(_dsn(settings), settings.consumer_group, settings.events_topic).messages >= (
            expected.total
        )
    except psycopg.OperationalError:
        return False


def _stop(*processes: object) -> None:
    for process in processes:
        if process.poll() is None:  # type: ignore[attr-defined]
            process.kill()  # type: ignore[attr-defined]
            process.wait()  # type: ignore[attr-defined]


@pytest.fixture
def topics(settings: Settings) -> Settings:
    ensure_topics(_bootstrap(settings), pipeline_topics(settings))
    return settings


@pytest.fixture
def broker(local_stack: LocalStack) -> Iterator[int]:
    pid = broker_pid(local_stack)
    yield pid
    # Whatever a test did, the broker runs on (SIGCONT of a running process does nothing).
    os.kill(pid, signal.SIGCONT)


# -- the broker away ------------------------------------------------------------------------------


def test_broker_frozen_past_the_request_timeout_mid_stream_is_waited_out(
    topics: Settings, broker: int, tmp_path: Path
) -> None:
    settings, log = topics, tmp_path / "consumer.log"
    first = _produce(settings, seed=61, events=10_000)
    process = start_consumer(
        settings,
        log,
        batch_max_events=200,
        PULSE_KAFKA_REQUEST_TIMEOUT_MS=str(REQUEST_TIMEOUT_MS),
    )
    try:
        dsn, group = _dsn(settings), settings.consumer_group
        wait_until(lambda: batches_committed(dsn, group) > 0, 90, "the first stored batch")
        with frozen(broker):
            # Past the client's request timeout (and the session timeout): this is the fault.
            time.sleep(REQUEST_TIMEOUT_MS / 1000 + 4)
            assert process.poll() is None, f"the consumer exited:\n{tail(log)}"
        second = _produce(settings, seed=62, events=2000)  # more to do after the thaw
        expected = _expected(settings, first + second)
        wait_until(lambda: _all_stored(settings, expected), 180, "every event stored")
        assert process.poll() is None, f"the consumer exited:\n{tail(log)}"
        process.send_signal(signal.SIGTERM)
        assert wait_exit(process, 60, log) == 0, tail(log)
    finally:
        _stop(process)
    assert_stored_exactly(stored(dsn, group, settings.events_topic), expected)


def test_consumer_started_before_the_broker_waits_and_says_so(
    topics: Settings, broker: int, tmp_path: Path
) -> None:
    settings, log = topics, tmp_path / "consumer.log"
    messages = _produce(settings, seed=63, events=500)
    expected = _expected(settings, messages)
    with frozen(broker):
        process = start_consumer(settings, log, stop_when_idle_s=3)
        try:
            wait_for_log(log, "connecting to Kafka at", 60)
            assert process.poll() is None, f"the consumer gave up:\n{tail(log)}"
        except BaseException:
            _stop(process)
            raise
    try:
        assert wait_exit(process, 180, log) == 0, tail(log)
    finally:
        _stop(process)
    assert_stored_exactly(
        stored(_dsn(settings), settings.consumer_group, settings.events_topic), expected
    )


# -- rebalances ---------------------------------------------------------------------------------


def test_consumer_frozen_past_its_session_timeout_and_postgres_restarted_store_every_event_once(
    topics: Settings, local_stack: LocalStack, tmp_path: Path
) -> None:
    settings = topics
    dsn, group = _dsn(settings), settings.consumer_group
    first = _produce(settings, seed=64, events=6000)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = start_consumer(settings, log_a, batch_max_events=150)
    b = None
    try:
        wait_for_log(log_a, "resuming [0, 1, 2]", 90)
        b = start_consumer(settings, log_b, batch_max_events=150)
        wait_for_log(log_b, "resuming", 90)  # the group now has two members
        wait_until(lambda: batches_committed(dsn, group) > 2, 90, "batches from both")
        frozen_at = log_size(log_b)
        with frozen(a.pid):
            # B takes every partition once the group gives up on A.
            wait_for_log(log_b, "resuming [0, 1, 2]", 60, after=frozen_at)
            local_stack.stop_postgres()
            try:
                second = _produce(settings, seed=65, events=2000)  # B has work in the outage
                wait_for_log(log_b, "failed (", 60, after=frozen_at)
            finally:
                start_postgres(local_stack)
            time.sleep(SESSION_TIMEOUT_S)  # A stays frozen well past its session timeout
        third = _produce(settings, seed=66, events=1000)  # and both after the thaw
        expected = _expected(settings, first + second + third)
        wait_until(lambda: _all_stored(settings, expected), 240, "every event stored")
        for process, log in ((a, log_a), (b, log_b)):
            assert process.poll() is None, f"a consumer exited:\n{tail(log)}"
            process.send_signal(signal.SIGTERM)
        assert wait_exit(a, 60, log_a) == 0, tail(log_a)
        assert wait_exit(b, 60, log_b) == 0, tail(log_b)
    finally:
        _stop(a, *(p for p in (b,) if p is not None))
    assert_stored_exactly(stored(dsn, group, settings.events_topic), expected)


def _run_in_thread(consumer: IngestConsumer) -> threading.Thread:
    thread = threading.Thread(target=consumer.run, name="test-consumer", daemon=True)
    thread.start()
    return thread


def test_revocation_in_the_middle_of_a_batch_flushes_what_the_consumer_holds(
    topics: Settings,
) -> None:
    settings = topics
    messages = _produce(settings, seed=70, events=600)
    expected = _expected(settings, messages)
    # A writes only when its batch is full, old, or its partitions are revoked: never here but
    # on revocation (its batch cannot fill up and cannot age within the test).
    holder = IngestConsumer(
        in_process_config(
            settings, stop_when_idle_s=None, batch_max_events=100_000, batch_max_age_s=3600
        )
    )
    first = _run_in_thread(holder)
    joiner = None
    try:
        # Observed: A holds every message in its batch, none written.
        wait_until(lambda: holder._batch.messages == expected.total, 90, "A to hold everything")
        assert batches_committed(_dsn(settings), settings.consumer_group) == 0
        joiner = IngestConsumer(in_process_config(settings, stop_when_idle_s=None))
        second = _run_in_thread(joiner)
        wait_until(lambda: holder.report.revocation_flushes >= 1, 60, "A's revocation flush")
        wait_until(lambda: joiner._joined and not joiner._pending, 60, "B to settle")
    finally:
        holder.request_stop()
        if joiner is not None:
            joiner.request_stop()
        first.join(60)
        if joiner is not None:
            second.join(60)
    assert holder.report.inserted == len(expected.events), "A wrote its batch on revocation"
    assert joiner is not None and joiner.report.inserted == 0, "B found nothing left to store"
    assert_stored_exactly(
        stored(_dsn(settings), settings.consumer_group, settings.events_topic), expected
    )


def test_revocation_blocked_by_the_warehouse_returns_within_its_budget(topics: Settings) -> None:
    # The rebalance callback runs on the client's IO thread, which also heartbeats: a flush that
    # waited for the warehouse without bound would hold the whole group. Here the flush cannot
    # finish (a lock blocks its transaction); the callback must give up within its budget, the
    # group must settle, and the fence must still keep every event once.
    settings = topics
    dsn = _dsn(settings)
    messages = _produce(settings, seed=71, events=600)
    expected = _expected(settings, messages)
    holder = IngestConsumer(
        in_process_config(
            settings, stop_when_idle_s=None, batch_max_events=100_000, batch_max_age_s=3600
        )
    )
    durations: list[float] = []
    on_revoked = holder.on_revoked

    def timed(partitions: list) -> None:
        started = time.monotonic()
        on_revoked(partitions)
        durations.append(time.monotonic() - started)

    holder.on_revoked = timed  # type: ignore[method-assign]
    first = _run_in_thread(holder)
    joiner = None
    lock = psycopg.connect(dsn)
    try:
        wait_until(lambda: holder._batch.messages == expected.total, 90, "A to hold everything")
        lock.execute("lock table raw.ingest_batches in share mode")
        joiner = IngestConsumer(in_process_config(settings, stop_when_idle_s=None))
        second = _run_in_thread(joiner)
        wait_until(lambda: bool(durations), 60, "A's revocation")
        assert durations[0] < 3.0, f"the revocation held the group for {durations[0]:.1f} s"
        wait_until(lambda: joiner._joined and not joiner._pending, 60, "B to settle")
        lock.close()
        # A may own partitions again after the rebalance, and writes only when it stops.
        holder.request_stop()
        first.join(60)
        wait_until(lambda: _all_stored(settings, expected), 90, "every event stored")
    finally:
        lock.close()
        holder.request_stop()
        if joiner is not None:
            joiner.request_stop()
        first.join(60)
        if joiner is not None:
            second.join(60)
    assert_stored_exactly(stored(dsn, settings.consumer_group, settings.events_topic), expected)


def test_fenced_batch_is_discarded_and_the_consumer_reseeks_to_the_stored_offset(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"events_partitions": 1})
    ensure_topics(_bootstrap(settings), pipeline_topics(settings))
    messages = [
        m
        for m in generate(GeneratorConfig(seed=67, events=300, invalid_share=0, duplicate_share=0))
    ][:300]
    produce(messages, _bootstrap(settings), settings.events_topic, show_progress=False)
    dsn = _dsn(settings)
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into raw.consumer_offsets (consumer_group, topic, partition, next_offset) "
            "values (%s, %s, 0, 0)",
            [settings.consumer_group, settings.events_topic],
        )
    consumer = IngestConsumer(
        in_process_config(
            settings, stop_when_idle_s=2.0, batch_max_events=100, lock_timeout_ms=60_000
        )
    )
    other_owner = psycopg.connect(dsn)
    try:
        # Another owner holds the partition's offset row: the consumer's first batch waits at
        # its fence, then finds the offset moved to 150 (as if the other owner stored 0..149:
        # not a batch boundary of this consumer, so only a re-seek to it can continue there).
        other_owner.execute(
            "select next_offset from raw.consumer_offsets where topic = %s for update",
            [settings.events_topic],
        )
        thread = _run_in_thread(consumer)
        wait_until(
            lambda: any(wait == "Lock" for _, wait, _ in ingest_backends(dsn)), 90, "the fence wait"
        )
        other_owner.execute(
            "update raw.consumer_offsets set next_offset = 150 where topic = %s",
            [settings.events_topic],
        )
        other_owner.commit()
        thread.join(120)
        assert not thread.is_alive()
    finally:
        other_owner.close()
    assert consumer.report.fenced_batches >= 1
    with psycopg.connect(dsn) as conn:
        offsets = sorted(
            row[0] for row in conn.execute("select source_offset from raw.community_events")
        )
        next_offset = conn.execute("select next_offset from raw.consumer_offsets").fetchone()[0]
    assert offsets == list(range(150, 300)), "the fenced batch is not written; 150.. is read"
    assert next_offset == 300


# -- Postgres read-only or shut down --------------------------------------------------------------


def test_read_only_warehouse_and_admin_shutdown_are_retried_like_an_outage(
    topics: Settings, tmp_path: Path
) -> None:
    settings, log = topics, tmp_path / "consumer.log"
    dsn, group = _dsn(settings), settings.consumer_group
    first = _produce(settings, seed=68, events=3000)
    database = sql.Identifier(psycopg.conninfo.conninfo_to_dict(dsn)["dbname"])
    process = start_consumer(settings, log, batch_max_events=200)
    try:
        wait_until(lambda: batches_committed(dsn, group) > 0, 90, "the first stored batch")
        with psycopg.connect(dsn, autocommit=True) as admin:
            # A standby after a failover: every new session is read-only; the current ones are
            # ended by an administrator (admin shutdown).
            admin.execute(
                sql.SQL("alter database {} set default_transaction_read_only = on").format(database)
            )
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where application_name = 'pulse-ingest' and datname = current_database()"
            )
            try:
                wait_for_log(log, "read-only transaction", 90)
                assert process.poll() is None, f"the consumer exited:\n{tail(log)}"
            finally:
                admin.execute(
                    sql.SQL("alter database {} reset default_transaction_read_only").format(
                        database
                    )
                )
        second = _produce(settings, seed=69, events=1000)
        expected = _expected(settings, first + second)
        wait_until(lambda: _all_stored(settings, expected), 180, "every event stored")
        process.send_signal(signal.SIGTERM)
        assert wait_exit(process, 60, log) == 0, tail(log)
    finally:
        _stop(process)
    assert_stored_exactly(stored(dsn, group, settings.events_topic), expected)


def test_every_ingest_session_carries_statement_and_lock_timeouts(topics: Settings) -> None:
    from streaming.sink import PostgresSink

    sink = PostgresSink(
        _dsn(topics), topics.consumer_group, statement_timeout_ms=1234, lock_timeout_ms=567
    )
    try:
        sink.stored_offsets(topics.events_topic, [0])
        conn = sink._connection()
        assert conn.execute("show statement_timeout").fetchone() == ("1234ms",)
        assert conn.execute("show lock_timeout").fetchone() == ("567ms",)
        assert conn.execute("select current_user").fetchone() == ("pulse_ingest",)
    finally:
        sink.close()
