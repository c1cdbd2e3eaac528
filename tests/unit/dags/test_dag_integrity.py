"""Every DAG file loads through Airflow's DagBag: no import errors, house rules kept, no I/O at
import time.

The DagBag is filled in a fresh interpreter (a private AIRFLOW_HOME, no metadata database) in which,
once Airflow is imported, opening a network connection, starting a process or connecting to
Postgres raises: a DAG file (or project code it imports) that tries any of them while being parsed
shows up as an import error and in `io_attempts`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pulse.paths import DAGS_DIR

EXPECTED = {"community_metrics", "dead_letter_replay", "member_erasure"}

_LOAD = r"""
import json, socket, subprocess, sys
from pathlib import Path

# Airflow itself, and croniter (which runs `file` on the interpreter when imported), load first:
# the check is about what parsing the DAG files does, including the project code they import.
import croniter
import airflow.sdk
from airflow.dag_processing.dagbag import BundleDagBag

attempts = []

def refuse(*args, **kwargs):
    attempts.append(repr(args[1:3])[:200])
    raise OSError("I/O while parsing a DAG file")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
subprocess.Popen.__init__ = refuse
import psycopg
from pulse.paths import REPO_ROOT
psycopg.connect = refuse
psycopg.Connection.connect = classmethod(refuse)

folder = Path(sys.argv[1])
bag = BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder")
dags = {}
for dag_id, dag in bag.dags.items():
    dags[dag_id] = {
        "file": Path(dag.fileloc).name,
        "tags": sorted(dag.tags),
        "catchup": dag.catchup,
        "doc_md": bool(dag.doc_md and dag.doc_md.strip()),
        "schedule": type(dag.timetable).__name__,
        "max_active_runs": dag.max_active_runs,
        "retries": {task.task_id: task.retries for task in dag.tasks},
        "owners": sorted({task.owner for task in dag.tasks}),
    }
print("PULSE-DAGBAG " + json.dumps({
    "import_errors": {str(k): v for k, v in bag.import_errors.items()},
    "io_attempts": attempts,
    "dags": dags,
}))
"""


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "False",
    }
    completed = subprocess.run(
        [sys.executable, "-c", _LOAD, str(DAGS_DIR)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("PULSE-DAGBAG ")]
    assert lines, f"the DagBag did not load:\n{completed.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("PULSE-DAGBAG "))


def test_every_dag_file_imports_without_errors_and_without_io(dagbag: dict) -> None:
    assert dagbag["import_errors"] == {}
    assert dagbag["io_attempts"] == []
    assert set(dagbag["dags"]) == EXPECTED


def test_one_dag_per_file_and_helpers_hold_none(dagbag: dict) -> None:
    files = [info["file"] for info in dagbag["dags"].values()]
    assert len(files) == len(set(files))
    assert all(not name.startswith("_") for name in files)
    for path in DAGS_DIR.glob("*.py"):
        if not path.name.startswith("_"):
            assert "catchup=" in path.read_text(), f"{path.name}: catchup is not explicit"


def test_dags_have_tags_docs_retries_and_an_owner(dagbag: dict) -> None:
    for dag_id, info in dagbag["dags"].items():
        assert "community-pulse" in info["tags"], dag_id
        assert len(info["tags"]) >= 2, dag_id
        assert info["doc_md"], f"{dag_id} has no doc_md"
        too_few = {task: n for task, n in info["retries"].items() if n < 2}
        assert not too_few, f"{dag_id}: tasks with fewer than 2 retries: {too_few}"
        assert info["owners"] == ["community-pulse"], dag_id


def test_community_metrics_runs_hourly_intervals_one_at_a_time_without_catchup(
    dagbag: dict,
) -> None:
    info = dagbag["dags"]["community_metrics"]
    assert info["schedule"] == "CronDataIntervalTimetable"
    assert info["catchup"] is False
    assert info["max_active_runs"] == 1
    assert list(info["retries"]) == [
        "start_run",
        "ingest_freshness",
        "raw_gate",
        "dbt_build",
        "marts_gate",
        "promote",
        "publish",
        "record_run",
    ]
    assert dagbag["dags"]["dead_letter_replay"]["schedule"] == "NullTimetable"
    assert dagbag["dags"]["member_erasure"]["catchup"] is False
