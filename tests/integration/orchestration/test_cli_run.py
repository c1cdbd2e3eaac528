"""`pulse run` as an operator meets it: the real CLI in a subprocess, on the embedded broker and
warehouse, with its own Airflow under a PULSE_STATE_DIR in the test's temporary folder.

- An interval that ends in the future is refused at once (exit 1, one line), before Airflow is
  set up; a manually triggered DAG run with such params fails at once too (no retries).
- SIGINT or SIGTERM while the freshness check waits (messages nobody consumes, so it cannot pass)
  stops the run within seconds with 130 / 143, leaves no Airflow process behind and records the
  run as failed ("interrupted").
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg
import pytest
from kafka import KafkaProducer

from pulse import orchestration
from pulse.errors import PulseError
from pulse.settings import Settings
from pulse.warehouse.init import ensure_pipeline_tables
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PULSE = str(Path(sys.executable).with_name("pulse"))


@pytest.fixture(scope="module")
def shared_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One state folder for the module's Airflow runs: its metadata database is migrated once."""
    return tmp_path_factory.mktemp("run-state") / ".pulse"


def run_environment(settings: Settings, state_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any PULSE_* or AIRFLOW_HOME of other tests, plus the
    test's PULSE_* variables (the DAG's tasks read them)."""
    assert settings.pg_dsn is not None and settings.pseudonym_key is not None
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PULSE_") and name != "AIRFLOW_HOME"
    }
    env.update(
        {
            "PULSE_KAFKA_BOOTSTRAP": str(settings.kafka_bootstrap),
            "PULSE_PG_DSN": settings.pg_dsn.get_secret_value(),
            "PULSE_PSEUDONYM_KEY": settings.pseudonym_key.get_secret_value(),
            "PULSE_STATE_DIR": str(state_dir),
            "PULSE_EVENTS_TOPIC": settings.events_topic,
            "PULSE_DLQ_TOPIC": settings.dlq_topic,
            "PULSE_METRICS_TOPIC": settings.metrics_topic,
            "PULSE_ALERTS_TOPIC": settings.alerts_topic,
            "PULSE_EVENTS_PARTITIONS": str(settings.events_partitions),
            "PULSE_CONSUMER_GROUP": settings.consumer_group,
            **extra,
        }
    )
    return env


def pipeline_rows(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select pipeline_run_id, status, failed_step, error, finished_at "
            "from quality.pipeline_runs order by pipeline_run_id"
        ).fetchall()


# -- an interval that ends in the future ---------------------------------------------------------


def test_pulse_run_refuses_an_interval_that_ends_in_the_future_at_once(settings: Settings) -> None:
    assert settings.pg_dsn is not None
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    env = run_environment(settings, settings.state_dir)
    started = time.monotonic()
    done = subprocess.run(
        [
            PULSE,
            "run",
            "--interval-start",
            today.isoformat(),
            "--interval-end",
            tomorrow.isoformat(),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    assert elapsed < 5, f"took {elapsed:.1f} s"
    said = " ".join(done.stderr.split())
    assert said.startswith("error: the interval ends at ")
    assert f"{tomorrow.isoformat()}T00:00:00+00:00, in the future" in said
    assert "a run covers a past interval (the last complete hour by default)" in said
    assert "Traceback" not in done.stdout + done.stderr
    # Refused before Airflow was set up, and before any run was opened.
    assert not (settings.state_dir / "airflow").exists()
    dsn = settings.pg_dsn.get_secret_value()
    with psycopg.connect(dsn) as conn:
        table = conn.execute("select to_regclass('quality.pipeline_runs')").fetchone()
    assert table is not None
    assert table[0] is None or pipeline_rows(dsn) == []


def test_explicit_bounds_ending_in_the_future_are_refused_within_a_small_tolerance() -> None:
    now = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
    hour = timedelta(hours=1)
    with pytest.raises(PulseError, match="in the future"):
        orchestration.resolve_interval(now - hour, now + hour, None, None, now=now)
    with pytest.raises(PulseError, match="in the future"):
        orchestration.resolve_interval(
            (now - hour).isoformat(), (now + timedelta(seconds=6)).isoformat(), None, None, now=now
        )
    # A few seconds of clock skew pass (the freshness check then waits them out) ...
    assert orchestration.resolve_interval(
        now - hour, now + timedelta(seconds=5), None, None, now=now
    )
    # ... and a scheduled run's own interval is what Airflow says it is.
    assert orchestration.resolve_interval(None, None, now, now + hour, now=now) == (now, now + hour)


_TRIGGER_WITH_FUTURE_PARAMS = r"""
import json, os, sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pulse import orchestration

orchestration.prepare_local_airflow(Path(os.environ["PULSE_STATE_DIR"]))
dag = orchestration.load_dag(orchestration.DAG_ID)
now = datetime.now(UTC)
logical = now.replace(minute=0, second=0, microsecond=0)
future = now + timedelta(hours=1)
started = time.monotonic()
dag_run = dag.test(
    logical_date=logical,
    run_after=logical,
    run_conf={"interval_start": logical.isoformat(), "interval_end": future.isoformat()},
)
print("PULSE-RESULT " + json.dumps({
    "state": str(dag_run.state),
    "seconds": time.monotonic() - started,
    "tries": {ti.task_id: [str(ti.state), ti.try_number] for ti in dag_run.get_task_instances()},
}))
"""


def test_a_dag_run_with_params_ending_in_the_future_fails_at_once(
    settings: Settings, shared_state: Path
) -> None:
    assert settings.pg_dsn is not None
    dsn = settings.pg_dsn.get_secret_value()
    ensure_pipeline_tables(dsn)
    done = subprocess.run(
        [sys.executable, "-c", _TRIGGER_WITH_FUTURE_PARAMS],
        env=run_environment(settings, shared_state),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PULSE-RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("PULSE-RESULT "))
    assert "failed" in result["state"].lower()
    # No retries (they wait minutes): start_run and record_run ran once each.
    assert result["tries"]["start_run"] == ["failed", 1]
    assert result["tries"]["record_run"] == ["failed", 1]
    assert result["seconds"] < 60
    assert "in the future" in done.stdout
    assert pipeline_rows(dsn) == []


# -- a signal while the freshness check waits ----------------------------------------------------


class Output:
    """Lines of a process's stdout and stderr, collected by threads as they arrive."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.threads = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((process.stdout, self.stdout), (process.stderr, self.stderr))
        ]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _read(stream: object, lines: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line)

    def says(self, text: str) -> bool:
        return any(text in line for line in [*self.stdout, *self.stderr])

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=10)

    def tail(self) -> str:
        return "".join(self.stdout[-30:]) + "".join(self.stderr[-30:])


@pytest.fixture
def unconsumed_events(settings: Settings) -> Iterator[None]:
    """The inbound topic holds messages no consumer reads: freshness (max lag 0) cannot pass."""
    bootstrap = str(settings.kafka_bootstrap)
    ensure_topics(bootstrap, pipeline_topics(settings))
    sender = KafkaProducer(bootstrap_servers=bootstrap)
    for n in range(3):
        sender.send(settings.events_topic, key=b"c1", value=b'{"n": %d}' % n)
    sender.flush()
    sender.close()
    yield


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_freshness_wait_stops_pulse_run_and_marks_the_run_failed(
    signum: signal.Signals,
    settings: Settings,
    shared_state: Path,
    unconsumed_events: None,
) -> None:
    assert settings.pg_dsn is not None
    dsn = settings.pg_dsn.get_secret_value()
    ensure_pipeline_tables(dsn)
    start, end = orchestration.last_complete_hour()
    env = run_environment(
        settings,
        shared_state,
        PULSE_FRESHNESS_MAX_LAG="0",
        PULSE_FRESHNESS_POKE_INTERVAL_S="1",
    )
    process = subprocess.Popen(
        [PULSE, "run", "--interval-start", start.isoformat(), "--interval-end", end.isoformat()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    output = Output(process)
    try:
        # Observed, not assumed: the run's row is open and the check has said it is waiting.
        deadline = time.monotonic() + 180
        while not (output.says("ingest not fresh yet") and pipeline_rows(dsn)):
            assert process.poll() is None, f"pulse run ended early:\n{output.tail()}"
            assert time.monotonic() < deadline, f"no freshness wait seen:\n{output.tail()}"
            time.sleep(0.2)
        (row,) = pipeline_rows(dsn)
        assert row[1] == "running"
        airflow = psutil.Process(process.pid).children(recursive=True)
        assert airflow, "the Airflow run should be a child process"

        sent = time.monotonic()
        process.send_signal(signum)
        code = process.wait(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output.join()
    print(f"{signum.name}: pulse run exited {code} {elapsed:.1f} s after the signal")

    assert code == 128 + signum, output.tail()
    assert elapsed < 10, f"took {elapsed:.1f} s to stop"
    said = [line for line in output.stderr if line.startswith("interrupted: ")]
    assert len(said) == 1, output.tail()
    assert f"stopped by {signum.name} at ingest_freshness" in said[0]
    # Nothing of the run is left polling, and its row says what happened.
    _, alive = psutil.wait_procs(airflow, timeout=5)
    assert not alive, alive
    (row,) = pipeline_rows(dsn)
    _, status, failed_step, error, finished_at = row
    assert (status, failed_step, error) == ("failed", "ingest_freshness", "interrupted")
    assert finished_at is not None
