"""`pulse status --check` / `--json` as an operator (or the compose healthcheck) runs them: a
subprocess on the session's embedded broker and PostgreSQL. Exit 0 on a drained topic, 3 and 4
when the lag and freshness thresholds (settings) are passed, 1 with the broker frozen (SIGSTOP,
as tests/integration/streaming/test_ingest_liveness.py does: it keeps its memory-only messages
and accepts connections without answering, the hardest kind of "down" to time out on)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from support.ingest import broker_pid, consumer_env, frozen, in_process_config, producer

from pulse.local.generator import GeneratorConfig, generate, produce
from pulse.local.stack import LocalStack
from pulse.settings import Settings
from streaming.consumer import IngestConsumer
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TIMEOUT_S = 3  # PULSE_STATUS_TIMEOUT_S of these runs: how long a frozen broker is waited for


def _status(
    settings: Settings, *flags: str, unset: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    """`pulse status FLAGS` with the test's settings, `env` added and the `unset` names removed."""
    environment = consumer_env(settings, PULSE_STATUS_TIMEOUT_S=str(TIMEOUT_S), **env)
    for name in unset:
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "pulse.cli", "status", *flags],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise AssertionError(f"not JSON ({error}):\n{done.stdout}\n{done.stderr}") from None


def _services(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {service["name"]: service for service in data["services"]}


def test_status_check_passes_when_drained_fails_past_thresholds_and_with_the_broker_frozen(
    settings: Settings, local_stack: LocalStack
) -> None:
    bootstrap = settings.kafka_bootstrap
    assert bootstrap is not None and settings.pg_dsn is not None
    ensure_topics(bootstrap, pipeline_topics(settings))
    messages = list(
        generate(GeneratorConfig(seed=71, events=300, duplicate_share=0.02, invalid_share=0.02))
    )
    produce(messages, bootstrap, settings.events_topic, show_progress=False)
    report = IngestConsumer(in_process_config(settings, stop_when_idle_s=2.0)).run()
    assert report.messages == len(messages)

    # All fine: exit 0, the tables on stdout.
    fine = _status(settings, "--check")
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "services" in fine.stdout and settings.events_topic in fine.stdout
    data = _json(_status(settings, "--json"))
    assert data["ok"] is True and data["check_exit_code"] == 0, data["problems"]
    assert {name: s["up"] for name, s in _services(data).items()} == {
        "postgres": True,
        "kafka": True,
    }
    assert [p["partition"] for p in data["partitions"]] == [0, 1, 2]
    assert sum(p["stored_offset"] or 0 for p in data["partitions"]) == len(messages)
    assert data["lag"]["total"] == 0
    with psycopg.connect(settings.pg_dsn.get_secret_value()) as conn:
        rows = conn.execute("select count(*) from raw.community_events").fetchone()[0]
    assert data["raw"]["community_events"] == {"rows": rows, "exact": True, "method": "count"}
    assert sum(d["rows"] for d in data["raw"]["dead_letters"].values()) == report.dead_letters
    assert data["freshness"]["stale"] is False and data["freshness"]["raw_age_s"] < 120
    assert data["gaps"] == [] and data["pseudonym_key"]["matches_configured"] is True
    # As docker-compose's consumer healthcheck runs it: logged in as pulse_ingest, which may not
    # look into schema quality (the last runs are then not shown, and that is no failure).
    as_ingest = make_conninfo(settings.pg_dsn.get_secret_value(), user="pulse_ingest")
    ingest = _status(settings, "--json", "--check", PULSE_PG_DSN=as_ingest)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    assert _services(_json(ingest))["postgres"]["up"] is True

    # Messages that wait: two flushes to one partition, so even an end offset the embedded
    # broker reports low (the last batch's start) is past the stored offset.
    sender = producer(bootstrap)
    try:
        for _flush in range(2):
            for _ in range(5):
                sender.send(settings.events_topic, value=b"{}", key=b"k", partition=0)
            sender.flush(timeout=30)
    finally:
        sender.close()
    behind = _status(settings, "--json", "--check", PULSE_STATUS_MAX_LAG="0")
    assert behind.returncode == 3, behind.stdout + behind.stderr
    assert [p["check"] for p in _json(behind)["problems"]] == ["lag"]
    assert "PULSE_STATUS_MAX_LAG" in behind.stderr
    stale = _status(settings, "--check", PULSE_STATUS_MAX_RAW_AGE_S="0.001")
    assert stale.returncode == 4, stale.stdout + stale.stderr
    assert _status(settings, "--check").returncode == 0, "the defaults allow a little lag"

    # The broker frozen: down within the timeout, exit 1, and the JSON says which and why. The
    # second run takes the broker from the embedded stack, which knows its process still runs.
    with frozen(broker_pid(local_stack)):
        started = time.monotonic()
        down = _status(settings, "--check")
        assert down.returncode == 1, down.stdout + down.stderr
        assert "kafka is down" in down.stderr
        assert time.monotonic() - started < TIMEOUT_S + 30
        embedded = _status(
            settings,
            "--json",
            "--check",
            unset=("PULSE_KAFKA_BOOTSTRAP",),
            PULSE_STATE_DIR=str(local_stack.state_dir),
        )
    assert embedded.returncode == 1, embedded.stdout + embedded.stderr
    data = _json(embedded)
    services = _services(data)
    assert services["kafka"]["up"] is False and services["kafka"]["error"]
    assert services["kafka"]["embedded"] is True and services["kafka"]["process"] == "running"
    assert services["postgres"]["up"] is True and services["postgres"]["embedded"] is False
    assert data["ok"] is False and data["check_exit_code"] == 1
    assert [p["check"] for p in data["problems"]] == ["service_down"]
    assert data["lag"]["total"] is None and data["raw"]["community_events"]["rows"] == rows
