"""The pipeline as tests drive it: a private Airflow, the PULSE_* environment of a run, ingest
until drained, and reading a topic the way a downstream consumer does."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from pulse import orchestration
from pulse.settings import Settings
from streaming.consumer import IngestConfig, IngestConsumer


def private_airflow() -> Path:
    """A temporary AIRFLOW_HOME (SQLite metadata database, this repository's dags/), selected
    before Airflow is first imported and migrated once per session."""
    home = os.environ.get("PULSE_TEST_AIRFLOW_HOME")
    if home is None:
        assert "airflow" not in sys.modules, "Airflow was imported before its home was chosen"
        home = tempfile.mkdtemp(prefix="pulse-airflow-")
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        os.environ["PULSE_TEST_AIRFLOW_HOME"] = home
        os.environ.update(orchestration.airflow_environment(Path(home)))
    orchestration.migrate_airflow_db(Path(home))
    return Path(home)


def pulse_environment(settings: Settings) -> dict[str, str]:
    """The PULSE_* variables the DAG tasks read (they build their own Settings)."""
    assert settings.pg_dsn is not None and settings.pseudonym_key is not None
    return {
        "PULSE_KAFKA_BOOTSTRAP": str(settings.kafka_bootstrap),
        "PULSE_PG_DSN": settings.pg_dsn.get_secret_value(),
        "PULSE_PSEUDONYM_KEY": settings.pseudonym_key.get_secret_value(),
        "PULSE_STATE_DIR": str(settings.state_dir),
        "PULSE_EVENTS_TOPIC": settings.events_topic,
        "PULSE_DLQ_TOPIC": settings.dlq_topic,
        "PULSE_METRICS_TOPIC": settings.metrics_topic,
        "PULSE_ALERTS_TOPIC": settings.alerts_topic,
        "PULSE_INCIDENTS_TOPIC": settings.incidents_topic,
        "PULSE_EVENTS_PARTITIONS": str(settings.events_partitions),
        "PULSE_CONSUMER_GROUP": settings.consumer_group,
    }


@dataclass(frozen=True)
class Message:
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def json(self) -> dict[str, Any]:
        return json.loads(self.value)


def read_topic(
    bootstrap: str, topic: str, expected: int = 0, settle_s: float = 1.5
) -> list[Message]:
    """Every message of `topic` (from the beginning), once `expected` arrived and nothing more
    came for `settle_s` (Tansu's end offsets are not trusted)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        assert partitions, f"topic {topic} has no partitions"
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        messages: list[tuple[int, int, Message]] = []
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        quiet_since = datetime.now(UTC)
        while datetime.now(UTC) < deadline:
            polled = consumer.poll(timeout_ms=200)
            for records in polled.values():
                for r in records:
                    headers = tuple((k, bytes(v)) for k, v in r.headers or ())
                    messages.append((r.partition, r.offset, Message(r.key, r.value, headers)))
            if polled:
                quiet_since = datetime.now(UTC)
            quiet = (datetime.now(UTC) - quiet_since).total_seconds() >= settle_s
            if quiet and len(messages) >= expected:
                break
        assert len(messages) >= expected, f"read {len(messages)} of {expected} from {topic}"
        return [m for _, _, m in sorted(messages, key=lambda item: item[:2])]
    finally:
        consumer.close()


def consume(settings: Settings, idle_s: float = 1.0) -> None:
    """Run the ingest consumer until the topic is drained."""
    assert settings.pg_dsn is not None and settings.pseudonym_key is not None
    IngestConsumer(
        IngestConfig(
            bootstrap=str(settings.kafka_bootstrap),
            pg_dsn=settings.pg_dsn.get_secret_value(),
            pseudonym_key=settings.pseudonym_key.get_secret_value(),
            topic=settings.events_topic,
            dlq_topic=settings.dlq_topic,
            group=settings.consumer_group,
            stop_when_idle_s=idle_s,
        )
    ).run()
