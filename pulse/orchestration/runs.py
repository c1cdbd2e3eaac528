"""Run records: one row of quality.pipeline_runs per execution of a community_metrics run.

A run covers one data interval [start, end) and goes

    start_run -> ingest_freshness -> raw_gate -> dbt_build -> marts_gate -> promote -> publish
    -> finish_run

Each step records what it did and how long it took in its row (a re-run of the same Airflow run
is a new row, `attempt` + 1), and `finish_run` sets the verdict. A step that fails records the
first failure (step and one-line error) before raising.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from pulse.errors import PulseError
from pulse.publishing.promote import build_schema_name
from pulse.runtime import warehouse_dsn
from pulse.settings import Settings
from pulse.timestamps import parse_moment
from pulse.warehouse.locks import lock_in_transaction

logger = logging.getLogger(__name__)

DAG_ID = "community_metrics"
STEPS = ("ingest_freshness", "raw_gate", "dbt_build", "marts_gate", "promote", "publish")


class RunFailed(PulseError):
    """The run did not get through every step; `summary` says where it stopped."""

    def __init__(self, summary: RunSummary) -> None:
        super().__init__(summary.headline())
        self.summary = summary


@dataclass(frozen=True)
class RunContext:
    """Who the run is; travels between tasks as a plain dict (XCom)."""

    dag_id: str
    run_id: str
    pipeline_run_id: int
    attempt: int
    interval_start: datetime
    interval_end: datetime
    # Rebuild every table from all of raw instead of incrementally (pulse.orchestration.build_plan).
    full_refresh: bool = False

    @property
    def build_schema(self) -> str:
        key = self.run_id if self.attempt == 1 else f"{self.run_id}#{self.attempt}"
        return build_schema_name(key)

    def to_xcom(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "pipeline_run_id": self.pipeline_run_id,
            "attempt": self.attempt,
            "interval_start": self.interval_start.isoformat(),
            "interval_end": self.interval_end.isoformat(),
            "full_refresh": self.full_refresh,
        }

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> RunContext:
        return cls(
            dag_id=str(value["dag_id"]),
            run_id=str(value["run_id"]),
            pipeline_run_id=int(value["pipeline_run_id"]),
            attempt=int(value["attempt"]),
            interval_start=parse_moment(value["interval_start"], "interval_start"),
            interval_end=parse_moment(value["interval_end"], "interval_end"),
            full_refresh=bool(value.get("full_refresh", False)),
        )


def start_run(
    settings: Settings,
    *,
    dag_id: str,
    run_id: str,
    interval_start: datetime,
    interval_end: datetime,
    full_refresh: bool = False,
) -> RunContext:
    """Open the run's row in quality.pipeline_runs (status running)."""
    dsn = warehouse_dsn(settings)
    with psycopg.connect(dsn) as conn:
        lock_in_transaction(conn, f"pulse run {run_id}")
        row = conn.execute(
            "insert into quality.pipeline_runs (dag_id, run_id, attempt, interval_start, "
            "interval_end, full_refresh_requested) "
            "select %s, %s, coalesce(max(attempt), 0) + 1, %s, %s, %s "
            "from quality.pipeline_runs where dag_id = %s and run_id = %s "
            "returning pipeline_run_id, attempt",
            [dag_id, run_id, interval_start, interval_end, full_refresh, dag_id, run_id],
        ).fetchone()
    assert row is not None
    run = RunContext(
        dag_id, run_id, row[0], row[1], interval_start, interval_end, full_refresh=full_refresh
    )
    logger.info(
        "run %s (attempt %d): interval %s to %s%s",
        run_id,
        run.attempt,
        interval_start.isoformat(),
        interval_end.isoformat(),
        ", full refresh" if full_refresh else "",
    )
    return run


def one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:500]


def update_run(
    dsn: str,
    run: RunContext,
    *,
    step: str | None = None,
    seconds: float | None = None,
    columns: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
    error: BaseException | None = None,
) -> None:
    """Write a step's outcome into the run's row (jsonb fields are merged, not replaced)."""
    assignments: list[sql.Composable] = []
    params: list[Any] = []
    for name, value in (columns or {}).items():
        assignments.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
        params.append(Jsonb(value) if isinstance(value, dict) else value)
    if step is not None and seconds is not None:
        assignments.append(sql.SQL("step_seconds = step_seconds || %s"))
        params.append(Jsonb({step: round(seconds, 3)}))
    if details:
        assignments.append(sql.SQL("details = details || %s"))
        params.append(Jsonb(dict(details)))
    if error is not None:
        # The first failure is the one that explains the run.
        assignments.append(sql.SQL("failed_step = coalesce(failed_step, %s)"))
        assignments.append(sql.SQL("error = case when failed_step is null then %s else error end"))
        params += [step, one_line(error)]
    elif step is not None:
        # A retry that succeeded clears the failure its earlier try recorded.
        assignments.append(sql.SQL("error = case when failed_step = %s then null else error end"))
        assignments.append(
            sql.SQL("failed_step = case when failed_step = %s then null else failed_step end")
        )
        params += [step, step]
    if not assignments:
        return
    query = sql.SQL("update quality.pipeline_runs set {} where pipeline_run_id = %s").format(
        sql.SQL(", ").join(assignments)
    )
    with psycopg.connect(dsn) as conn:
        conn.execute(query, [*params, run.pipeline_run_id])


class RecordedStep:
    """Times a step and records it; on an exception records the failure and re-raises."""

    def __init__(self, dsn: str, run: RunContext, name: str) -> None:
        self.dsn, self.run, self.name = dsn, run, name
        self.columns: dict[str, Any] = {}
        self.details: dict[str, Any] = {}

    def __enter__(self) -> RecordedStep:
        self.started = time.perf_counter()
        logger.info("step %s of run %s", self.name, self.run.run_id)
        return self

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> None:
        seconds = time.perf_counter() - self.started
        try:
            update_run(
                self.dsn,
                self.run,
                step=self.name,
                seconds=seconds,
                columns=self.columns,
                details=self.details,
                error=error,
            )
        except psycopg.Error:
            if error is None:
                raise
            # Keep the step's own error; the record is secondary.
            logger.exception("could not record the failure of step %s", self.name)


# -- the verdict --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """A run's row of quality.pipeline_runs, as the CLI and the last task report it."""

    pipeline_run_id: int
    run_id: str
    attempt: int
    status: str
    interval_start: datetime
    interval_end: datetime
    failed_step: str | None
    error: str | None
    build_schema: str | None
    raw_events_in_interval: int | None
    metrics_published: int | None
    alerts_published: int | None
    step_seconds: dict[str, float]
    task_seconds: dict[str, float]

    def headline(self) -> str:
        interval = f"{self.interval_start.isoformat()} to {self.interval_end.isoformat()}"
        if self.status == "success":
            return (
                f"run {self.run_id} (attempt {self.attempt}) succeeded for {interval}: "
                f"{self.metrics_published} metrics, {self.alerts_published} new alerts, "
                f"build {self.build_schema}"
            )
        where = self.failed_step or "an unknown step"
        return (
            f"run {self.run_id} (attempt {self.attempt}) {self.status} at {where} for "
            f"{interval}: {self.error or 'no error recorded'}"
        )


_SUMMARY_COLUMNS = (
    "pipeline_run_id, run_id, attempt, status, interval_start, interval_end, failed_step, "
    "error, build_schema, raw_events_in_interval, metrics_published, alerts_published, "
    "step_seconds, task_seconds"
)


def read_run(dsn: str, pipeline_run_id: int) -> RunSummary:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f"select {_SUMMARY_COLUMNS} from quality.pipeline_runs where pipeline_run_id = %s",
            [pipeline_run_id],
        ).fetchone()
    if row is None:
        raise PulseError(f"no pipeline run {pipeline_run_id} in quality.pipeline_runs")
    return RunSummary(*row)


def latest_run(dsn: str, run_id: str, dag_id: str = DAG_ID) -> RunSummary | None:
    """The last recorded execution of an Airflow run id."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f"select {_SUMMARY_COLUMNS} from quality.pipeline_runs "
            "where dag_id = %s and run_id = %s order by attempt desc limit 1",
            [dag_id, run_id],
        ).fetchone()
    return RunSummary(*row) if row else None


def finish_run(
    settings: Settings,
    run: RunContext,
    task_states: Mapping[str, str] | None = None,
    task_seconds: Mapping[str, float] | None = None,
) -> RunSummary:
    """Set the run's status: success only when every step succeeded.

    Args:
        settings: the run's settings.
        run: the run.
        task_states: Airflow's final state per step task, when known (a task killed before it
            could record anything shows up only here).
        task_seconds: Airflow's duration per task (start-up and queueing included).

    Returns:
        The recorded run; the caller fails the DAG run when its status is `failed`.
    """
    dsn = warehouse_dsn(settings)
    summary = read_run(dsn, run.pipeline_run_id)
    done = set(summary.step_seconds)
    states = dict(task_states or {})
    not_done = [
        name
        for name in STEPS
        if (states.get(name, "success") != "success")
        or (name not in done)
        or (summary.failed_step == name)
    ]
    failed = bool(not_done) or summary.failed_step is not None
    failed_step = summary.failed_step or (not_done[0] if not_done else None)
    error = summary.error
    if failed and error is None and failed_step is not None:
        error = f"task {failed_step} ended {states.get(failed_step, 'without recording a result')}"
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "update quality.pipeline_runs set status = %s, failed_step = %s, error = %s, "
            "task_seconds = task_seconds || %s, finished_at = now() where pipeline_run_id = %s",
            [
                "failed" if failed else "success",
                failed_step if failed else None,
                error if failed else None,
                Jsonb({k: round(float(v), 3) for k, v in (task_seconds or {}).items()}),
                run.pipeline_run_id,
            ],
        )
    summary = read_run(dsn, run.pipeline_run_id)
    logger.info("%s", summary.headline())
    return summary
