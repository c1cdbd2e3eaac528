"""One community_metrics run: run records, ingest freshness, the steps, dbt, the local Airflow.

This package's namespace is what the DAG files (and `pulse run`) call; its modules are
`runs` (the run's row in quality.pipeline_runs), `interval`, `freshness`, `steps` (raw gate, dbt
build, marts gate, promote, publish: the one orchestration of them), `dbt` (running the dbt
project), `local_airflow` and `local_run` (`dag.test()` without a scheduler), and
`maintenance_runs` (the replay and erasure DAGs' tasks). The settings and the error type are
re-exported so a DAG file needs nothing else of the package.
"""

from pulse.errors import PulseError
from pulse.orchestration.freshness import Freshness, IngestNotFresh, ingest_freshness
from pulse.orchestration.interval import last_complete_hour, refuse_future_end, resolve_interval
from pulse.orchestration.local_airflow import (
    airflow_environment,
    load_dag,
    migrate_airflow_db,
    prepare_local_airflow,
)
from pulse.orchestration.local_run import RunInterrupted, run_once
from pulse.orchestration.maintenance_runs import erase, replay, verify_erased
from pulse.orchestration.notify import notify_failure
from pulse.orchestration.runs import (
    DAG_ID,
    STEPS,
    RunContext,
    RunFailed,
    RunSummary,
    finish_run,
    latest_run,
    read_run,
    start_run,
)
from pulse.orchestration.steps import (
    STOP_ERRORS,
    BuildTestsFailed,
    dbt_build,
    marts_gate,
    promote_build,
    publish,
    raw_gate,
)
from pulse.orchestration.task_settings import task_settings
from pulse.settings import Settings
from pulse.warehouse.names import DEAD_LETTER_REASONS

__all__ = [
    "DAG_ID",
    "DEAD_LETTER_REASONS",
    "STEPS",
    "STOP_ERRORS",
    "BuildTestsFailed",
    "Freshness",
    "IngestNotFresh",
    "PulseError",
    "RunContext",
    "RunFailed",
    "RunInterrupted",
    "RunSummary",
    "Settings",
    "airflow_environment",
    "dbt_build",
    "erase",
    "finish_run",
    "ingest_freshness",
    "last_complete_hour",
    "latest_run",
    "load_dag",
    "marts_gate",
    "migrate_airflow_db",
    "notify_failure",
    "prepare_local_airflow",
    "promote_build",
    "publish",
    "raw_gate",
    "read_run",
    "refuse_future_end",
    "replay",
    "resolve_interval",
    "run_once",
    "start_run",
    "task_settings",
    "verify_erased",
]
