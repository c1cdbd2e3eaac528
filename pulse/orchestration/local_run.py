"""`pulse run`: the community_metrics DAG once through `dag.test()`, with no scheduler."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from pulse.errors import PulseError
from pulse.orchestration.airflow_log import AirflowLogRelay, run_log_path
from pulse.orchestration.interval import last_complete_hour, refuse_future_end
from pulse.orchestration.local_airflow import load_dag, prepare_local_airflow
from pulse.orchestration.runs import (
    DAG_ID,
    STEPS,
    RunFailed,
    RunSummary,
    latest_run,
    one_line,
    read_run,
)
from pulse.runtime import warehouse_dsn
from pulse.settings import Settings
from pulse.timestamps import parse_moment
from pulse.warehouse.init import ensure_pipeline_tables

logger = logging.getLogger(__name__)


class RunInterrupted(PulseError):
    """`run_once` was stopped by a signal: its Airflow process is gone, its row marked failed."""

    def __init__(self, signum: int, summary: RunSummary | None, note: str | None = None) -> None:
        self.signum = signum
        self.summary = summary
        name = signal.Signals(signum).name
        if summary is not None:
            text = (
                f"run {summary.run_id} (attempt {summary.attempt}) stopped by {name} at "
                f"{summary.failed_step or 'an unknown step'}; recorded as {summary.status} "
                f"({summary.error})"
            )
        else:
            text = f"run stopped by {name} {note or 'before it was recorded'}"
        super().__init__(text)

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by the signal: 130 SIGINT, 143 SIGTERM."""
        return 128 + self.signum


class _Signalled(BaseException):
    """Raised by run_once's signal handler (a BaseException, so no `except Exception` eats it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# What stops `pulse run` (SIGHUP only when not ignored, e.g. under nohup). After SIGINT to the
# Airflow process group the running step has _STOP_GRACE_S to clean up (dbt cancels its queries,
# a half-built schema is dropped) before the group is killed.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_STOP_GRACE_S = 3.0
_CHILD_CODE = "from pulse.orchestration.local_run import _dag_test_child; _dag_test_child()"


class _StopSignals:
    """While active (main thread only), the first SIGINT/SIGTERM/SIGHUP raises `_Signalled`;
    later ones are ignored, so they cannot cut the (bounded) clean-up short."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.closed = False
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is None and not self.closed:
            self.received = signum
            raise _Signalled(signum)

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in _STOP_SIGNALS:
                if signum == signal.SIGHUP and signal.getsignal(signum) == signal.SIG_IGN:
                    continue
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True
        for signum, handler in self.previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _stop_process_group(child: subprocess.Popen[bytes]) -> None:
    """SIGINT to the child's process group (Airflow and the dbt it started), SIGKILL after the
    grace: Airflow's task runner takes SIGTERM over and turns SIGINT into a task to retry."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=_STOP_GRACE_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=5)


def _last_pipeline_run_id(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("select coalesce(max(pipeline_run_id), 0) from quality.pipeline_runs")
        found = row.fetchone()
    return int(found[0]) if found else 0


def mark_interrupted(
    dsn: str, *, after_id: int, interval_start: datetime, interval_end: datetime
) -> RunSummary | None:
    """Mark the rows this `run_once` opened that still say `running` as failed, error
    "interrupted", at the step that was running; returns the last one (None: no row yet)."""
    marked = None
    with psycopg.connect(dsn, connect_timeout=3) as conn:
        found = conn.execute(
            "select pipeline_run_id, step_seconds, failed_step from quality.pipeline_runs "
            "where pipeline_run_id > %s and dag_id = %s and interval_start = %s "
            "and interval_end = %s and status = 'running' order by pipeline_run_id for update",
            [after_id, DAG_ID, interval_start, interval_end],
        ).fetchall()
        for pipeline_run_id, step_seconds, failed_step in found:
            step = failed_step or next((s for s in STEPS if s not in step_seconds), "record_run")
            conn.execute(
                "update quality.pipeline_runs set status = 'failed', failed_step = %s, "
                "error = 'interrupted', finished_at = now() where pipeline_run_id = %s",
                [step, pipeline_run_id],
            )
            marked = pipeline_run_id
    return read_run(dsn, marked) if marked is not None else None


def _interrupted(signum: int, dsn: str, after_id: int, start: datetime, end: datetime) -> Exception:
    try:
        summary = mark_interrupted(dsn, after_id=after_id, interval_start=start, interval_end=end)
    except (psycopg.Error, PulseError) as error:
        return RunInterrupted(signum, None, f"(could not mark its row failed: {one_line(error)})")
    return RunInterrupted(signum, summary)


def _die_with_parent(parent_pid: int) -> None:
    """Kill this process group (Airflow, dbt) once the process that started it is gone."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        with contextlib.suppress(OSError):
            if os.getpgrp() == os.getpid():
                os.killpg(os.getpgrp(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="pulse-run-parent-watch", daemon=True).start()


def _dag_test_child() -> None:
    """The process `run_once` starts: one `dag.test()` of community_metrics; writes its run id
    (or the one-line error that kept it from starting) to the result file."""
    request = json.loads(sys.argv[1])
    _die_with_parent(int(request["parent_pid"]))
    # On stdout, like everything Airflow logs: the relay keeps it in the run's log file. On the
    # inherited stderr, Airflow's start-up lines (logged before it configures its own logging:
    # "Reading the config from ...", "Configured default timezone ...") would reach the user.
    logging.basicConfig(level=int(request["log_level"]), format="%(message)s", stream=sys.stdout)
    start = parse_moment(request["interval_start"], "interval_start")
    end = parse_moment(request["interval_end"], "interval_end")
    result: dict[str, Any]
    try:
        prepare_local_airflow(Path(request["state_dir"]))
        dag = load_dag(DAG_ID)
        # Same interval, same logical date and run id: a re-run replaces the earlier Airflow run
        # and publishes identical metric messages.
        dag_run = dag.test(
            logical_date=end,
            run_after=end,
            run_conf={
                "interval_start": start.isoformat(),
                "interval_end": end.isoformat(),
                "full_refresh": bool(request.get("full_refresh", False)),
            },
        )
        result = {"run_id": dag_run.run_id, "state": str(dag_run.state)}
    except PulseError as error:
        result = {"error": str(error)}
    Path(request["result"]).write_text(json.dumps(result))


def run_once(
    settings: Settings,
    interval_start: datetime | None = None,
    interval_end: datetime | None = None,
    *,
    full_refresh: bool = False,
) -> RunSummary:
    """Run community_metrics once through `dag.test()` (no scheduler needed).

    An interval ending in the future is refused before anything starts. Airflow runs in a child
    process with its own process group: in-process, `dag.test()`'s task runner replaces the
    SIGTERM handler (it only calls the task's on_kill) and catches the KeyboardInterrupt of a
    SIGINT inside a task as a failure to retry, so neither signal would stop the run. Here a
    SIGINT, SIGTERM or SIGHUP stops the child's group (SIGINT, then SIGKILL after a few seconds),
    marks the run's row failed with error "interrupted" and raises RunInterrupted.

    Args:
        settings: the run's settings (the tasks read the same PULSE_* environment).
        interval_start: start of the data interval; with interval_end, or neither (then the last
            complete hour).
        interval_end: end (exclusive) of the data interval.
        full_refresh: rebuild every table from all of raw instead of incrementally.

    Returns:
        The run as recorded in quality.pipeline_runs.

    Raises:
        RunFailed: the run stopped at a step (its summary says which and why).
        RunInterrupted: a signal stopped the run.
        PulseError: the interval is invalid or ends in the future, or Airflow could not start.
    """
    if (interval_start is None) != (interval_end is None):
        raise PulseError("give both --interval-start and --interval-end, or neither")
    if interval_start is None or interval_end is None:
        interval_start, interval_end = last_complete_hour()
    start = parse_moment(interval_start, "interval_start")
    end = parse_moment(interval_end, "interval_end")
    if end <= start:
        raise PulseError("--interval-end must be after --interval-start")
    refuse_future_end(end)
    dsn = warehouse_dsn(settings)
    ensure_pipeline_tables(dsn)
    after_id = _last_pipeline_run_id(dsn)
    with tempfile.TemporaryDirectory(prefix="pulse-run-") as scratch:
        result_file = Path(scratch) / "result.json"
        request = {
            "parent_pid": os.getpid(),
            "log_level": logging.getLogger().getEffectiveLevel(),
            "state_dir": str(Path(settings.state_dir).resolve()),
            "interval_start": start.isoformat(),
            "interval_end": end.isoformat(),
            "full_refresh": full_refresh,
            "result": str(result_file),
        }
        log_path = run_log_path(Path(settings.state_dir))
        with _StopSignals():
            child = None
            try:
                child = subprocess.Popen(
                    [sys.executable, "-c", _CHILD_CODE, json.dumps(request)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
                relay = AirflowLogRelay(child.stdout, log_path)  # type: ignore[arg-type]
                returncode = child.wait()
                relay.join()
            except _Signalled as signalled:
                if child is not None:
                    _stop_process_group(child)
                raise _interrupted(signalled.signum, dsn, after_id, start, end) from None
        logger.info("Airflow's log of this run: %s", log_path)
        result = json.loads(result_file.read_text()) if result_file.exists() else {}
    if "error" in result:
        raise PulseError(result["error"])
    if "run_id" not in result:
        raise PulseError(
            f"the Airflow process of the run ended (exit code {returncode}) without a result; "
            f"its log: {log_path}"
        )
    summary = latest_run(dsn, result["run_id"])
    if summary is None:
        raise PulseError(f"the run {result['run_id']} recorded nothing (state {result['state']})")
    if summary.status != "success":
        raise RunFailed(summary)
    return summary
