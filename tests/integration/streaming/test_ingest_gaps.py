"""Every gap is seen (docs/contracts.md, "Gaps"): a stored offset the partition no longer has is
recorded in raw.ingest_gaps, logged as an error, shown by `pulse status` and fails the freshness
check of the intervals it touches; ingest resumes from the partition's earliest offset, and dead
letters of a recreated topic are not lost to the old ones' positions.

Before, a topic recreated under the warehouse (the memory-only embedded broker restarted) left a
stored offset of 12 over a partition holding 0..5: `pulse consume` read nothing, silently, for
good, and retention removing unread messages was a silent reset by the client.
"""

from __future__ import annotations

import json
import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaAdminClient, TopicPartition
from rich.console import Console
from support.ingest import (
    in_process_config,
    produce_exactly,
    start_consumer,
    tail,
    wait_exit,
    wait_for_log,
    wait_until,
)

from pulse.local.generator import GeneratorConfig, generate
from pulse.local.status import render_status
from pulse.orchestration.freshness import check_freshness
from pulse.settings import Settings
from pulse.warehouse.gaps import resolve_gap
from streaming.consumer import IngestConsumer
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _one_partition(settings: Settings) -> Settings:
    settings = settings.model_copy(update={"events_partitions": 1})
    assert settings.kafka_bootstrap is not None
    ensure_topics(settings.kafka_bootstrap, pipeline_topics(settings))
    return settings


def _messages(seed: int, valid: int, invalid_at: int) -> list[tuple[bytes, bytes, list]]:
    """`valid` events with an invalid message inserted at position `invalid_at`."""
    events = generate(GeneratorConfig(seed=seed, events=valid, invalid_share=0, duplicate_share=0))
    plan: list[tuple[bytes, bytes, list]] = [(m.key, m.value, []) for m in events][:valid]
    plan.insert(invalid_at, (b"acme.micro.plant_care", b'{"broken": ', []))
    return plan


def _dsn(settings: Settings) -> str:
    assert settings.pg_dsn is not None
    return settings.pg_dsn.get_secret_value()


def _gaps(settings: Settings) -> list[tuple]:
    with psycopg.connect(_dsn(settings)) as conn:
        return conn.execute(
            "select cause, partition, stored_offset, log_start_offset, log_end_offset, "
            "resume_offset, epoch_before, epoch_after, lost_from, detected_at "
            "from raw.ingest_gaps order by gap_id"
        ).fetchall()


def _stored_offsets(settings: Settings) -> dict[int, tuple[int, int]]:
    with psycopg.connect(_dsn(settings)) as conn:
        rows = conn.execute("select partition, next_offset, epoch from raw.consumer_offsets")
        return {partition: (offset, epoch) for partition, offset, epoch in rows}


def _event_ids(plan: list[tuple[bytes, bytes, list]]) -> set[str]:
    ids = set()
    for _, value, _ in plan:
        try:
            ids.add(json.loads(value)["event_id"])
        except (ValueError, KeyError):
            continue
    return ids


def _stored_event_ids(settings: Settings) -> set[str]:
    with psycopg.connect(_dsn(settings)) as conn:
        return {str(row[0]) for row in conn.execute("select event_id from raw.community_events")}


def test_topic_recreated_under_a_running_consumer_is_a_recorded_gap(
    settings: Settings, tmp_path: Path
) -> None:
    settings = _one_partition(settings)
    assert settings.kafka_bootstrap is not None
    bootstrap, topic = settings.kafka_bootstrap, settings.events_topic
    first = _messages(seed=31, valid=11, invalid_at=5)  # offsets 0..11, a dead letter at 5
    produce_exactly(bootstrap, topic, first)
    log = tmp_path / "consumer.log"
    process = start_consumer(settings, log)
    try:
        wait_until(lambda: _stored_offsets(settings).get(0) == (12, 0), 90, "offset 12 stored")
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            admin.delete_topics([topic])
            wait_until(lambda: topic not in admin.list_topics(), 30, "the topic to be deleted")
        finally:
            admin.close()
        ensure_topics(bootstrap, pipeline_topics(settings))
        second = _messages(seed=32, valid=5, invalid_at=5)  # offsets 0..5, a dead letter at 5
        produce_exactly(bootstrap, topic, second)
        wait_for_log(log, "ingest gap", 90)
        wanted = _event_ids(first) | _event_ids(second)
        wait_until(lambda: _stored_event_ids(settings) == wanted, 90, "the new events stored")
        assert process.poll() is None, tail(log)
        process.send_signal(signal.SIGTERM)
        assert wait_exit(process, 60, log) == 0, tail(log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    (gap,) = _gaps(settings)
    cause, partition, stored, start, end, resume, epoch_before, epoch_after, lost_from, seen = gap
    assert cause == "topic_recreated", "the broker gives topic ids: the precise cause"
    assert (partition, stored, start, resume, epoch_before, epoch_after) == (0, 12, 0, 0, 0, 1)
    assert end is not None and end <= 6
    assert lost_from is not None and lost_from <= seen
    assert _stored_offsets(settings) == {0: (6, 1)}
    # The dead letters of both incarnations are kept, at the same offset, told apart by epoch.
    with psycopg.connect(_dsn(settings)) as conn:
        letters = conn.execute(
            "select source_offset, source_epoch from raw.dead_letter_events order by 2"
        ).fetchall()
    assert letters == [(5, 0), (5, 1)]

    # The gap fails the freshness of the interval it touches, and shows in `pulse status`.
    freshness = check_freshness(
        settings, seen + timedelta(seconds=1), interval_start=lost_from - timedelta(minutes=5)
    )
    assert not freshness.fresh
    assert "ingest gap" in freshness.reason and len(freshness.gaps) == 1
    earlier = check_freshness(
        settings, lost_from - timedelta(hours=1), interval_start=lost_from - timedelta(hours=2)
    )
    assert earlier.gaps == [], "an interval ending before the gap's window is not touched"
    console = Console(record=True, width=250)
    render_status(settings, console)
    shown = console.export_text()
    assert "unresolved ingest gaps" in shown and cause in shown
    # Resolved, it no longer holds the interval back.
    resolve_gap(_dsn(settings), 1, "test: new incarnation accepted")
    after = check_freshness(settings, seen + timedelta(seconds=1), interval_start=lost_from)
    assert after.gaps == []


class _RetentionConsumer(IngestConsumer):
    """The embedded broker cannot delete records (no DeleteRecords, no retention): this consumer
    sees the partition start where retention would have left it."""

    log_start = 0

    def _log_starts(self, tps: list[TopicPartition]) -> dict[int, int]:
        return {tp.partition: self.log_start for tp in tps}


def test_offset_below_the_partition_start_is_a_recorded_gap_and_ingest_resumes_at_the_start(
    settings: Settings,
) -> None:
    settings = _one_partition(settings)
    assert settings.kafka_bootstrap is not None
    plan = _messages(seed=41, valid=19, invalid_at=15)  # offsets 0..19
    produce_exactly(settings.kafka_bootstrap, settings.events_topic, plan)
    stored_at = datetime.now(UTC) - timedelta(hours=3)
    with psycopg.connect(_dsn(settings)) as conn:
        # Ingest had stored offset 4 three hours ago; retention has since removed 0..9.
        conn.execute(
            "insert into raw.consumer_offsets "
            "(consumer_group, topic, partition, next_offset, updated_at) "
            "values (%s, %s, 0, 4, %s)",
            [settings.consumer_group, settings.events_topic, stored_at],
        )
    consumer = _RetentionConsumer(in_process_config(settings, stop_when_idle_s=2.0))
    consumer.log_start = 10
    report = consumer.run()

    assert report.gaps == 1
    (gap,) = _gaps(settings)
    assert gap[:8] == ("before_start", 0, 4, 10, gap[4], 10, 0, 0)
    assert gap[8] == stored_at
    assert _stored_offsets(settings) == {0: (20, 0)}
    values = [value for _, value, _ in plan]
    assert _stored_event_ids(settings) == _event_ids([(b"", v, []) for v in values[10:]])
    # Intervals the lost messages may belong to (since offset 4 was stored) fail; older pass.
    touched = check_freshness(settings, stored_at + timedelta(hours=1), interval_start=stored_at)
    assert not touched.fresh and len(touched.gaps) == 1
    untouched = check_freshness(
        settings, stored_at - timedelta(hours=1), interval_start=stored_at - timedelta(hours=2)
    )
    assert untouched.gaps == []


def test_dead_letters_of_a_new_incarnation_are_stored_beside_the_old_ones(
    settings: Settings,
) -> None:
    # The same position in two epochs: what the uniqueness of raw.dead_letter_events allows.
    settings = _one_partition(settings)
    with psycopg.connect(_dsn(settings)) as conn:
        for epoch in (0, 1):
            conn.execute(
                "insert into raw.dead_letter_events (source_topic, source_partition, "
                "source_offset, source_epoch, reason, detail, value_bytes, value_sha256) "
                "values (%s, 0, 5, %s, 'invalid_json', 'x', 0, '')",
                [settings.events_topic, epoch],
            )
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "insert into raw.dead_letter_events (source_topic, source_partition, "
                "source_offset, source_epoch, reason, detail, value_bytes, value_sha256) "
                "values (%s, 0, 5, 1, 'invalid_json', %s, 0, '')",
                [settings.events_topic, str(uuid.uuid4())],
            )
