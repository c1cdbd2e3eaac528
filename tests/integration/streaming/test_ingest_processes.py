"""`pulse consume --processes N`: N full consumers of one group, each with partitions of its own
(dealt out round-robin), store every event exactly once between them (the fence and the group,
as with N consumers started by hand), each serves its own metrics port (base + i), and SIGTERM
stops them all with exit 0.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.ingest import (
    assert_stored_exactly,
    consumer_env,
    expect_from_generated,
    read_topic,
    scrape,
    stored,
    tail,
    value,
    wait_exit,
    wait_until,
)

from pulse.local.generator import GeneratorConfig, generate, produce
from pulse.local.stack import free_port
from pulse.settings import Settings
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_processes_share_the_partitions_and_store_every_event_exactly_once(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.kafka_bootstrap is not None and settings.pg_dsn is not None
    settings = settings.model_copy(update={"events_partitions": 4})
    ensure_topics(settings.kafka_bootstrap, pipeline_topics(settings))
    config = GeneratorConfig(seed=91, events=8000, duplicate_share=0.02, invalid_share=0.01)
    messages = list(generate(config))
    produce(messages, settings.kafka_bootstrap, settings.events_topic, show_progress=False)
    records = read_topic(settings.kafka_bootstrap, settings.events_topic, expected=len(messages))
    expected = expect_from_generated(records, messages)
    assert len(expected.counts) == 4, "every partition holds messages"

    # Two metrics ports next to each other (free when chosen; the consumers take them at once).
    base = free_port()
    while any(_taken(base + i) for i in range(2)):
        base = free_port()
    log = tmp_path / "consume.log"
    command = [sys.executable, "-m", "pulse.cli", "consume", "--processes", "2"]
    command += ["--metrics-port", str(base)]
    env = consumer_env(settings, PULSE_BATCH_MAX_EVENTS="500")
    with log.open("wb") as out:
        parent = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    dsn = settings.pg_dsn.get_secret_value()
    try:

        def all_stored() -> bool:
            held = stored(dsn, settings.consumer_group, settings.events_topic)
            return held.messages >= expected.total

        wait_until(all_stored, 180, f"every message stored:\n{tail(log)}")

        def both_own_partitions() -> bool:
            try:
                owned = [value(scrape(base + i), "pulse_ingest_partitions") for i in range(2)]
            except OSError:
                return False
            return sum(owned) == 4 and all(owned)

        wait_until(both_own_partitions, 60, f"both processes owning partitions:\n{tail(log)}")
        # Round-robin, not range: neighbouring partitions go to different processes.
        assigned = log.read_text()
        assert "assigned [0, 2];" in assigned and "assigned [1, 3];" in assigned, tail(log)
        per_process = [scrape(base + i) for i in range(2)]
        events = [value(s, "pulse_ingest_events_total") for s in per_process]
        assert sum(events) == len(expected.events)
        parent.send_signal(signal.SIGTERM)
        assert wait_exit(parent, 90, log) == 0, tail(log)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert_stored_exactly(stored(dsn, settings.consumer_group, settings.events_topic), expected)
    assert log.read_text().count("consumed ") == 2, tail(log)
    assert "2 consumer processes exited 0" in log.read_text()


def _taken(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - where the consumers will listen
        except OSError:
            return True
    return False
