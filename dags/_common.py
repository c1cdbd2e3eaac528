"""Helpers shared by the DAG files (not a DAG: the name starts with `_`).

Nothing here does I/O at import time. Configuration comes from the environment only:
`PULSE_*` variables (pulse.settings) and, when defined, the Airflow connections
`pulse_warehouse` (a Postgres connection, e.g. `AIRFLOW_CONN_PULSE_WAREHOUSE`),
`pulse_warehouse_owner` (the login that promotes and erases) and `pulse_kafka` (host:port, or
`bootstrap_servers` in its extra), which then win over PULSE_PG_DSN, PULSE_OWNER_PG_DSN and
PULSE_KAFKA_BOOTSTRAP. Nothing secret is written in code.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pulse import orchestration
from pulse.orchestration import Settings

logger = logging.getLogger(__name__)

OWNER = "community-pulse"
WAREHOUSE_CONN_ID = "pulse_warehouse"
WAREHOUSE_OWNER_CONN_ID = "pulse_warehouse_owner"
KAFKA_CONN_ID = "pulse_kafka"
# Schedules start here; with catchup off only the latest interval runs when a DAG is enabled.
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def notify_failure(context: Any) -> None:
    """Failure callback of every task: a task that failed for good (retries spent) is posted to
    PULSE_FAILURE_WEBHOOK_URL, when set."""
    orchestration.notify_failure(pulse_settings(), context)


DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "on_failure_callback": notify_failure,
}


def parse_time_settings() -> Settings:
    """Settings read while the DAG file is parsed (only the environment, no I/O)."""
    return Settings()


def pulse_settings() -> Settings:
    """The task's settings: PULSE_* variables, with the Airflow connections applied."""
    return orchestration.task_settings(
        warehouse=_connection(WAREHOUSE_CONN_ID),
        kafka=_connection(KAFKA_CONN_ID),
        warehouse_owner=_connection(WAREHOUSE_OWNER_CONN_ID),
    )


def _connection(conn_id: str) -> Any:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


@contextlib.contextmanager
def no_retry_on(*errors: type[BaseException]) -> Iterator[None]:
    """Fail the task at once (no retries) on these errors: a retry cannot fix them."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except errors as error:
        raise AirflowFailException(str(error)) from error


def run_identity(context: Any) -> tuple[str, str]:
    """(dag_id, run_id) of the running task."""
    return context["dag"].dag_id, context["run_id"]


def task_outcomes(context: Any) -> tuple[dict[str, str], dict[str, float]]:
    """Final state and duration of every finished task of this DAG run, from Airflow."""
    dag_id, run_id = run_identity(context)
    states: dict[str, str] = {}
    seconds: dict[str, float] = {}
    try:
        for crumb in context["ti"].get_task_breadcrumbs(dag_id, run_id):
            states[crumb["task_id"]] = str(getattr(crumb["state"], "value", crumb["state"]))
            if crumb.get("duration") is not None:
                seconds[crumb["task_id"]] = float(crumb["duration"])
    except Exception:  # the record is still written from what the steps recorded themselves
        logger.warning("could not read the task states of %s", run_id, exc_info=True)
    return states, seconds
