"""Exactly-once ingest (docs/contracts.md, "Ingest") on the real broker and a real PostgreSQL.

One seeded 20k-event dataset (with duplicates and invalid messages) is produced once per module
and read back with a plain `assign()` consumer, which gives the expected outcome of every
(partition, offset). Each test then ingests that topic into its own database under its own
consumer group: once, through SIGKILLs inside the batch transaction, through a PostgreSQL outage,
and through a SIGTERM, and Postgres must end up holding exactly the expected rows, dead letters
and offsets. Faults land where the test can see them (a session waiting inside its transaction, a
retry in the log), never after a guessed sleep.
"""

from __future__ import annotations

import contextlib
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from conftest import TEST_PSEUDONYM_KEY
from kafka import KafkaConsumer, TopicPartition
from psycopg import sql
from support.ingest import (
    Expected,
    Record,
    Stored,
    assert_stored_exactly,
    batches_committed,
    expect_from_generated,
    in_process_config,
    ingest_backends,
    read_topic,
    start_consumer,
    start_postgres,
    stored,
    tail,
    wait_exit,
    wait_for_log,
    wait_until,
)

from pulse.local.generator import (
    GeneratedMessage,
    GeneratorConfig,
    ProduceReport,
    generate,
    produce,
)
from pulse.local.stack import LocalStack, StackInfo
from pulse.settings import Settings
from pulse.warehouse.init import init_warehouse
from streaming.consumer import IngestConsumer, IngestReport
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARTITIONS = 3
GENERATOR = GeneratorConfig(seed=2026, events=20_000, duplicate_share=0.02, invalid_share=0.01)
PULSE_HEADERS = (
    "pulse.error.reason",
    "pulse.error.detail",
    "pulse.source.topic",
    "pulse.source.partition",
    "pulse.source.offset",
)


@dataclass
class Dataset:
    topic: str
    messages: list[GeneratedMessage]
    report: ProduceReport
    records: list[Record]
    expected: Expected


@pytest.fixture(scope="module")
def dataset(stack_info: StackInfo) -> Dataset:
    """The generated events, produced once to a module topic and read back."""
    topic = f"test.ingest.shared.{uuid.uuid4().hex[:8]}"
    ensure_topics(stack_info.kafka_bootstrap, {topic: PARTITIONS})
    messages = list(generate(GENERATOR))
    kinds = Counter(m.kind for m in messages)
    assert kinds["valid"] >= 18_000
    assert kinds["duplicate"] > 0
    assert kinds["invalid"] > 0
    report = produce(messages, stack_info.kafka_bootstrap, topic, show_progress=False)
    assert report.total == len(messages)
    records = read_topic(stack_info.kafka_bootstrap, topic, expected=len(messages))
    expected = expect_from_generated(records, messages)
    assert len(expected.counts) == PARTITIONS, "every partition holds messages"
    return Dataset(topic, messages, report, records, expected)


def _settings_on(base: Settings, dataset: Dataset) -> Settings:
    settings = base.model_copy(update={"events_topic": dataset.topic})
    assert settings.kafka_bootstrap is not None
    ensure_topics(settings.kafka_bootstrap, pipeline_topics(settings))
    return settings


@pytest.fixture
def shared_settings(settings: Settings, dataset: Dataset) -> Settings:
    """This test's database, DLQ topic and consumer group, reading the module's topic."""
    return _settings_on(settings, dataset)


@dataclass
class SingleRun:
    settings: Settings
    report: IngestReport
    seconds: float


@pytest.fixture(scope="module")
def single_run(
    dataset: Dataset,
    stack_info: StackInfo,
    local_stack: LocalStack,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SingleRun]:
    """One uninterrupted in-process run over the dataset, in a module-scoped database."""
    if not local_stack.postgres_running():
        local_stack.start_postgres()
    admin = f"postgresql://postgres@127.0.0.1:{stack_info.pg_port}/postgres"
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = f"postgresql://postgres@127.0.0.1:{stack_info.pg_port}/{name}"
    init_warehouse(dsn)
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=stack_info.kafka_bootstrap,
        pg_dsn=dsn,
        pseudonym_key=TEST_PSEUDONYM_KEY,
        state_dir=tmp_path_factory.mktemp("single-run") / ".pulse",
        events_topic=dataset.topic,
        dlq_topic=f"test.dlq.{suffix}",
        metrics_topic=f"test.metrics.{suffix}",
        alerts_topic=f"test.alerts.{suffix}",
        events_partitions=PARTITIONS,
        consumer_group=f"test-ingest-{suffix}",
    )
    ensure_topics(stack_info.kafka_bootstrap, pipeline_topics(settings))
    started = time.monotonic()
    report = IngestConsumer(in_process_config(settings, stop_when_idle_s=2.0)).run()
    yield SingleRun(settings, report, time.monotonic() - started)
    if not local_stack.postgres_running():
        local_stack.start_postgres()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def _dsn(settings: Settings) -> str:
    assert settings.pg_dsn is not None
    return settings.pg_dsn.get_secret_value()


def _stored(settings: Settings) -> Stored:
    return stored(_dsn(settings), settings.consumer_group, settings.events_topic)


# -- one uninterrupted run -----------------------------------------------------------------------


def test_single_run_stores_exactly_the_unique_valid_events_of_the_generator(
    single_run: SingleRun, dataset: Dataset
) -> None:
    actual = _stored(single_run.settings)
    unique_valid = {m.event_id for m in dataset.messages if m.kind == "valid"}
    assert len(unique_valid) == sum(m.kind == "valid" for m in dataset.messages)
    assert set(actual.events) == unique_valid
    assert actual.event_rows == len(unique_valid)
    assert_stored_exactly(actual, dataset.expected)


def test_single_run_stores_every_invalid_message_as_a_dead_letter_with_its_reason(
    single_run: SingleRun, dataset: Dataset
) -> None:
    actual = _stored(single_run.settings)
    generated = Counter(m.reason for m in dataset.messages if m.kind == "invalid")
    assert set(generated) == {
        "invalid_json",
        "invalid_utf8",
        "oversized",
        "schema_violation",
        "unknown_event_type",
        "future_timestamp",
    }
    assert Counter(actual.dead_letters.values()) == generated
    assert actual.dead_letter_rows == sum(generated.values())
    # Per source position: the very message the generator labelled gets the label as reason.
    assert actual.dead_letters == dataset.expected.dead_letters


def test_single_run_counts_every_resend_as_a_duplicate(
    single_run: SingleRun, dataset: Dataset
) -> None:
    actual = _stored(single_run.settings)
    resends = sum(m.kind == "duplicate" for m in dataset.messages)
    assert actual.duplicates == resends == dataset.report.duplicate
    assert actual.inserted == actual.event_rows
    assert actual.dead_letters_counted == dataset.report.invalid
    assert actual.messages == len(dataset.messages)
    report = single_run.report
    assert (report.messages, report.inserted, report.duplicates, report.dead_letters) == (
        len(dataset.messages),
        actual.event_rows,
        resends,
        dataset.report.invalid,
    )


def test_single_run_stores_next_offset_equal_to_messages_read_per_partition(
    single_run: SingleRun, dataset: Dataset
) -> None:
    actual = _stored(single_run.settings)
    assert actual.offsets == dataset.expected.counts
    assert_stored_exactly(actual, dataset.expected)


def test_single_run_publishes_each_dead_letter_to_the_dlq_topic_with_pulse_headers(
    single_run: SingleRun, dataset: Dataset
) -> None:
    settings = single_run.settings
    assert settings.kafka_bootstrap is not None
    invalid = len(dataset.expected.dead_letters)
    dlq = read_topic(settings.kafka_bootstrap, settings.dlq_topic, expected=invalid)
    assert len(dlq) == invalid, "each dead letter is published once in an uninterrupted run"
    seen = set()
    for message in dlq:
        headers = dict(message.headers)
        assert set(PULSE_HEADERS) <= set(headers), message.headers
        assert headers["pulse.source.topic"] == dataset.topic.encode()
        position = (
            int(headers["pulse.source.partition"]),
            int(headers["pulse.source.offset"]),
        )
        seen.add(position)
        original = dataset.expected.records[position]
        assert headers["pulse.error.reason"].decode() == dataset.expected.dead_letters[position]
        assert headers["pulse.error.detail"]
        assert (message.key, message.value) == (original.key, original.value)
    assert seen == set(dataset.expected.dead_letters)


def test_single_run_stores_pseudonymized_rows_without_member_id_or_text(
    single_run: SingleRun,
) -> None:
    with psycopg.connect(_dsn(single_run.settings)) as conn:
        missing_key = conn.execute(
            "select count(*) from raw.community_events "
            "where member_key is null and event_type <> 'community.upserted'"
        ).fetchone()[0]
        leaked = conn.execute(
            "select count(*) from raw.community_events where payload ? 'text' "
            "or payload ? 'sentiment' or payload ? 'member_id'"
        ).fetchone()[0]
        scored = dict(
            conn.execute(
                "select coalesce(sentiment_source, 'none'), count(*) from raw.community_events "
                "group by 1"
            ).fetchall()
        )
        redacted_ids = conn.execute(
            "select count(*) from raw.dead_letter_events "
            "where redacted_value ? 'member_id' or redacted_value -> 'payload' ? 'text'"
        ).fetchone()[0]
    assert missing_key == 0
    assert leaked == 0
    assert redacted_ids == 0
    assert scored.get("vader", 0) > 0
    assert scored.get("sent", 0) > 0


# -- crashes -------------------------------------------------------------------------------------

KILLS = 5
CRASH_BATCH = 250


@contextlib.contextmanager
def batch_transaction_held(dsn: str) -> Iterator[psycopg.Connection]:
    """Hold the consumer inside its batch transaction: a SHARE lock on raw.ingest_batches blocks
    the transaction's last insert, after its rows, dead letters and offsets are written and
    before COMMIT. Yields once the consumer's session is seen waiting on that lock."""
    conn = psycopg.connect(dsn)
    try:
        conn.execute("lock table raw.ingest_batches in share mode")
        wait_until(
            lambda: any(wait == "Lock" for _, wait, _ in ingest_backends(dsn)),
            90,
            "the consumer to wait inside its batch transaction",
        )
        yield conn
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.close()


def test_sigkill_inside_the_batch_transaction_then_restart_stores_everything_exactly_once(
    shared_settings: Settings, dataset: Dataset, tmp_path: Path
) -> None:
    # Each kill lands where it hurts most: inside an open transaction that holds a batch's rows
    # and offsets (observed in pg_stat_activity), never by a guess of how long to wait.
    dsn, group = _dsn(shared_settings), shared_settings.consumer_group
    log = tmp_path / "consumer.log"
    for kill in range(KILLS):
        before = max(batches_committed(dsn, group), 0)
        process = start_consumer(shared_settings, log, batch_max_events=CRASH_BATCH)
        try:
            wait_until(
                lambda before=before, process=process: (
                    batches_committed(dsn, group) > before or process.poll() is not None
                ),
                90,
                f"run {kill + 1} to store a batch",
            )
            assert process.poll() is None, f"the consumer exited early:\n{tail(log)}"
            with batch_transaction_held(dsn):
                process.kill()  # SIGKILL, mid-transaction
                process.wait(timeout=10)
                held = _stored(shared_settings)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        wait_until(lambda: not ingest_backends(dsn), 30, "the killed session to end")
        actual = _stored(shared_settings)
        assert actual.messages < dataset.expected.total, "the kill landed mid-stream"
        assert actual == held, "the killed transaction committed nothing"
        # At every crash point Postgres holds exactly what its stored offsets cover.
        assert_stored_exactly(actual, dataset.expected.prefix(actual.offsets))

    final = start_consumer(shared_settings, log, stop_when_idle_s=3, batch_max_events=CRASH_BATCH)
    assert wait_exit(final, 120, log) == 0, tail(log)
    assert_stored_exactly(_stored(shared_settings), dataset.expected)


def test_postgres_outage_during_ingest_is_waited_out_with_the_same_result(
    shared_settings: Settings, dataset: Dataset, local_stack: LocalStack, tmp_path: Path
) -> None:
    dsn, group = _dsn(shared_settings), shared_settings.consumer_group
    log = tmp_path / "consumer.log"
    process = start_consumer(shared_settings, log, stop_when_idle_s=3, batch_max_events=CRASH_BATCH)
    try:
        wait_until(lambda: batches_committed(dsn, group) > 0, 90, "the first stored batch")
        # Mid-stream by construction: the consumer is inside a batch when the server goes.
        with batch_transaction_held(dsn):
            local_stack.stop_postgres()
        try:
            wait_for_log(log, "writing the batch to Postgres failed", 60)
            assert process.poll() is None, f"the consumer died in the outage:\n{tail(log)}"
        finally:
            start_postgres(local_stack)
        assert wait_exit(process, 120, log) == 0, tail(log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert_stored_exactly(_stored(shared_settings), dataset.expected)


def test_consumer_started_during_a_postgres_outage_waits_for_it(
    shared_settings: Settings, dataset: Dataset, local_stack: LocalStack, tmp_path: Path
) -> None:
    # The first thing the consumer needs from PostgreSQL is the key check: it waits, saying so
    # (docs/contracts.md: infrastructure errors are retried).
    log = tmp_path / "consumer.log"
    local_stack.stop_postgres()
    try:
        process = start_consumer(shared_settings, log, stop_when_idle_s=3)
        wait_for_log(log, "against the warehouse failed", 60)
        wait_for_log(log, "retrying in 0.8 s", 60)  # still waiting, with backoff
        alive_during_outage = process.poll() is None
    finally:
        start_postgres(local_stack)
    if not alive_during_outage:
        pytest.fail(f"the consumer gave up while PostgreSQL was down:\n{tail(log)}")
    assert wait_exit(process, 120, log) == 0, tail(log)
    assert_stored_exactly(_stored(shared_settings), dataset.expected)


def test_sigterm_exits_0_with_offsets_covering_exactly_the_stored_rows(
    shared_settings: Settings, dataset: Dataset, tmp_path: Path
) -> None:
    dsn, group = _dsn(shared_settings), shared_settings.consumer_group
    log = tmp_path / "consumer.log"
    process = start_consumer(shared_settings, log, batch_max_events=200)
    try:
        wait_until(lambda: batches_committed(dsn, group) > 0, 90, "the first stored batch")
        # SIGTERM while a batch is inside its transaction: mid-stream by construction.
        with batch_transaction_held(dsn):
            process.send_signal(signal.SIGTERM)
        code = wait_exit(process, 60, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0, tail(log)
    actual = _stored(shared_settings)
    assert 0 < actual.messages < dataset.expected.total, "SIGTERM landed mid-stream"
    assert_stored_exactly(actual, dataset.expected.prefix(actual.offsets))
    _assert_kafka_commits_do_not_run_ahead(shared_settings, actual.offsets)

    again = start_consumer(shared_settings, log, stop_when_idle_s=3)
    assert wait_exit(again, 120, log) == 0, tail(log)
    assert_stored_exactly(_stored(shared_settings), dataset.expected)


def _assert_kafka_commits_do_not_run_ahead(
    settings: Settings, stored_offsets: dict[int, int]
) -> None:
    """Kafka's committed offsets (for lag tools) never pass what Postgres stored."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.consumer_group,
        enable_auto_commit=False,
    )
    try:
        for partition in range(PARTITIONS):
            committed = consumer.committed(TopicPartition(settings.events_topic, partition))
            if committed is not None:
                assert committed <= stored_offsets.get(partition, 0), partition
    finally:
        consumer.close(autocommit=False)
