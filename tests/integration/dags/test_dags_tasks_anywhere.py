"""Every task of one community_metrics run on a worker of its own: the run still promotes and
publishes.

The scale requirement: any task may run on any Airflow worker, so no task may rely on a file an
earlier task wrote to its own disk (dbt artefacts, Great Expectations results, Data Docs). What
tasks share is what workers share: the warehouse, the broker and Airflow's metadata database.

How the run is driven (Airflow 3.3, no scheduler):

* `airflow dags reserialize`, then `airflow dags trigger community_metrics --run-id ...
  --logical-date ... --conf {interval_start, interval_end}` creates the DAG run in the metadata
  database (the same run `pulse run` makes through `dag.test()`).
* each task is then one `airflow tasks test community_metrics <task_id> <run_id>` process, in
  dependency order. Airflow 3 has no `airflow tasks run` any more (workers get their workload from
  the executor); `tasks test` runs the task through the Task SDK's in-process supervisor against
  the metadata database, so its state and its XComs are written there. It deletes the DAG run
  (and with it every XCom) only when it had to create that run itself (`dr_created` in
  airflow/cli/commands/task_command.py, the behaviour since apache/airflow#22334); the run exists
  here, so each task reads its upstream XComs from the database, as on a real worker. The exit
  code of `tasks test` does not say whether the task failed, so each task's state is read from
  the metadata database after its process ended.

Each task process gets a worker's disk of its own, created empty just before it starts and
deleted right after it ends: its working directory, TMPDIR, HOME, PULSE_STATE_DIR and its own
copy of the Great Expectations project (PULSE_GX_PROJECT_DIR, without gx/uncommitted/), so
validation results and Data Docs of one gate are not on the disk of the next task. Everything
else is the PULSE_* environment the other DAG tests use, and the same AIRFLOW_HOME.
"""

from __future__ import annotations

import graphlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from support.pipeline import consume, private_airflow, pulse_environment, read_topic

from pulse import orchestration
from pulse.local.generator import GeneratorConfig, generate, produce
from pulse.publishing.promote import build_schema_name
from pulse.quality import copy_project
from pulse.settings import Settings
from pulse.warehouse.init import ensure_pipeline_tables
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AIRFLOW = Path(sys.executable).with_name("airflow")
TASK_TIMEOUT_S = 300


@dataclass(frozen=True)
class TaskProcess:
    """One task as one worker ran it: its private folders and what it left on them."""

    task_id: str
    cwd: Path
    tmpdir: Path
    state: str
    returncode: int
    seconds: float
    left_behind: tuple[str, ...]


def rows(dsn: str, query: sql.Composable | str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def airflow(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> int:
    """One Airflow CLI process; its output goes to `log` (never to its working directory)."""
    with log.open("w") as out:
        completed = subprocess.run(
            [str(AIRFLOW), *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=TASK_TIMEOUT_S,
            check=False,
        )
    return completed.returncode


def tasks_in_dependency_order() -> list[str]:
    """The DAG's task ids, each after every task it depends on."""
    dag = orchestration.load_dag(orchestration.DAG_ID)
    sorter = graphlib.TopologicalSorter(
        {task_id: set(task.upstream_task_ids) for task_id, task in dag.task_dict.items()}
    )
    return list(sorter.static_order())


def task_states(run_id: str) -> dict[str, str]:
    """Task id -> state of the DAG run's task instances, from Airflow's metadata database."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        found = session.execute(
            select(TaskInstance.task_id, TaskInstance.state).where(
                TaskInstance.dag_id == orchestration.DAG_ID, TaskInstance.run_id == run_id
            )
        ).all()
    return {task_id: str(getattr(state, "value", state)) for task_id, state in found}


def xcom_task_ids(run_id: str) -> set[str]:
    """Tasks of the DAG run whose return value is stored in the metadata database."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        found = session.scalars(
            select(XComModel.task_id).where(
                XComModel.dag_id == orchestration.DAG_ID,
                XComModel.run_id == run_id,
                XComModel.key == "return_value",
            )
        ).all()
    return set(found)


def files_under(folder: Path) -> tuple[str, ...]:
    return tuple(sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")))


def run_task_on_a_fresh_worker(
    task_id: str,
    run_id: str,
    base_env: dict[str, str],
    logs: Path,
    scratch_root: Path,
    earlier: list[TaskProcess],
) -> TaskProcess:
    """`airflow tasks test` of one task from folders made for it (deleted once it ended)."""
    worker = Path(tempfile.mkdtemp(prefix=f"worker-{task_id}-", dir=scratch_root))
    cwd, tmpdir, home = worker / "cwd", worker / "tmp", worker / "home"
    for folder in (cwd, tmpdir, home):
        folder.mkdir()
    gx = copy_project(worker / "gx")
    assert files_under(cwd) == () and files_under(tmpdir) == ()
    before = set(files_under(worker))
    env = {
        **base_env,
        "PWD": str(cwd),
        "HOME": str(home),
        "TMPDIR": str(tmpdir),
        "TMP": str(tmpdir),
        "TEMP": str(tmpdir),
        "PULSE_GX_PROJECT_DIR": str(gx),
        "PULSE_STATE_DIR": str(worker / "state" / ".pulse"),
    }
    log = logs / f"{task_id}.log"
    started = time.perf_counter()
    returncode = airflow(["tasks", "test", orchestration.DAG_ID, task_id, run_id], env, cwd, log)
    seconds = time.perf_counter() - started
    state = task_states(run_id).get(task_id, "no task instance")
    left_by = {task.task_id: task.left_behind for task in earlier if task.left_behind}
    assert state == "success", (
        f"task {task_id} ended {state} (exit code {returncode}); what earlier tasks left on "
        f"their (deleted) disks: {left_by or 'nothing'}; its log {log}:\n{tail(log)}"
    )
    left = tuple(sorted(set(files_under(worker)) - before))
    # The worker is gone: nothing this task wrote to its disk is there for the next task.
    shutil.rmtree(worker)
    return TaskProcess(task_id, cwd, tmpdir, state, returncode, seconds, left)


def test_each_task_on_its_own_worker_still_promotes_and_publishes(
    settings: Settings, pg_dsn: str, tmp_path: Path
) -> None:
    private_airflow()
    ensure_pipeline_tables(pg_dsn)
    assert settings.kafka_bootstrap is not None
    bootstrap = settings.kafka_bootstrap
    ensure_topics(bootstrap, pipeline_topics(settings))
    messages = list(generate(GeneratorConfig(seed=7, events=8_000, days=14)))
    produce(messages, bootstrap, settings.events_topic, show_progress=False)
    consume(settings)
    valid = [json.loads(m.value) for m in messages if m.kind == "valid" and m.value]
    end = max(datetime.fromisoformat(e["occurred_at"]) for e in valid).replace(
        hour=0, minute=0, second=0, microsecond=0
    ) + timedelta(days=1)
    start = end - timedelta(days=1)
    (before,) = rows(pg_dsn, "select coalesce(max(promotion_id), 0) from quality.promotions")

    # The one folder every worker shares (a mounted volume in a deployment): Data Docs.
    shared_docs = tmp_path / "shared-data-docs"
    base_env = {
        **os.environ,
        **pulse_environment(settings),
        "PULSE_DATA_DOCS_DIR": str(shared_docs),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    scratch_root = tmp_path / "workers"
    scratch_root.mkdir()
    control = tmp_path / "control"
    control.mkdir()
    suffix = settings.events_topic.rsplit(".", 1)[-1]
    run_id = f"manual__tasks_anywhere_{suffix}"
    # The run's interval comes from its conf (as with `pulse run`); its logical date only has to
    # be one no other DAG run of the session's Airflow has (Airflow keeps one run per date).
    logical_date = end - timedelta(seconds=1 + int(suffix, 16) % 3600)

    # The DAG run, as the API server would create it: the DAG serialized, then triggered.
    for name, args in {
        "reserialize": ["dags", "reserialize"],
        "trigger": [
            "dags",
            "trigger",
            orchestration.DAG_ID,
            "--run-id",
            run_id,
            "--logical-date",
            logical_date.isoformat(),
            "--conf",
            json.dumps({"interval_start": start.isoformat(), "interval_end": end.isoformat()}),
        ],
    }.items():
        log = logs / f"{name}.log"
        code = airflow(args, base_env, control, log)
        assert code == 0, f"airflow {' '.join(args[:2])} failed; its log {log}:\n{tail(log)}"

    order = tasks_in_dependency_order()
    assert order[0] == "start_run" and order[-1] == "record_run"
    assert set(orchestration.STEPS) < set(order)
    ran: list[TaskProcess] = []
    for task_id in order:
        ran.append(run_task_on_a_fresh_worker(task_id, run_id, base_env, logs, scratch_root, ran))

    # Every task ran in a process of its own, from folders no other task had.
    assert [task.task_id for task in ran] == order
    assert len({task.cwd for task in ran}) == len(ran)
    assert len({task.tmpdir for task in ran}) == len(ran)
    assert not list(scratch_root.iterdir())
    assert task_states(run_id) == dict.fromkeys(order, "success")
    # Upstream values reached the later processes through the metadata database.
    assert {"start_run", "dbt_build"} <= xcom_task_ids(run_id)

    # The run recorded success, with every step.
    summary = orchestration.latest_run(pg_dsn, run_id)
    assert summary is not None
    assert summary.status == "success", summary.headline()
    assert summary.attempt == 1
    assert summary.interval_start == start and summary.interval_end == end
    assert set(summary.step_seconds) == set(orchestration.STEPS)
    assert summary.build_schema == build_schema_name(run_id)
    (recorded,) = rows(
        pg_dsn,
        "select raw_gate_success, marts_gate_success, promoted, finished_at "
        "from quality.pipeline_runs where pipeline_run_id = %s",
        [summary.pipeline_run_id],
    )
    assert recorded[:3] == (True, True, True) and recorded[3] is not None
    # Both gates' Data Docs are in the shared folder (the workers' own disks are gone), and the
    # links stored in the warehouse point there.
    pages = rows(
        pg_dsn,
        "select layer, data_docs_page from quality.validation_runs where run_id = %s",
        [run_id],
    )
    assert {layer for layer, _ in pages} == {"raw", "marts"}
    for layer, page in pages:
        assert page is not None and Path(page).is_relative_to(shared_docs), (layer, page)
        assert Path(page).is_file(), (layer, page)

    # Promoted: BI's views now read this run's build.
    promotions = rows(
        pg_dsn,
        "select run_id, build_schema from quality.promotions where promotion_id > %s",
        [before[0]],
    )
    assert promotions == [(run_id, summary.build_schema)]
    view_reads = {
        (schema, table)
        for schema, table in rows(
            pg_dsn,
            "select distinct table_schema::text, table_name::text "
            "from information_schema.view_table_usage where view_schema = 'marts'",
        )
    }
    # the build's marts, and what the per-brand filter reads (pulse/publishing/mart_views.py)
    assert {schema for schema, _ in view_reads} - {"quality", "pg_catalog"} == {
        summary.build_schema
    }
    assert {r for r in view_reads if r[0] != summary.build_schema} <= {
        ("quality", "brand_access"),
        ("pg_catalog", "pg_roles"),
    }

    # Published: one metrics message per community of the validated build for the interval day.
    communities = {
        row[0]
        for row in rows(
            pg_dsn,
            sql.SQL("select community_id from {} where activity_date = %s").format(
                sql.Identifier(summary.build_schema, "fct_community_daily")
            ),
            [start.date()],
        )
    }
    assert communities, "the build has no row for the interval's day"
    metrics = [m.json() for m in read_topic(bootstrap, settings.metrics_topic, len(communities))]
    assert summary.metrics_published == len(metrics) == len(communities)
    assert {body["community_id"] for body in metrics} == communities
    assert {(body["activity_date"], body["run_id"]) for body in metrics} == {
        (start.date().isoformat(), run_id)
    }
    alerts = read_topic(bootstrap, settings.alerts_topic, summary.alerts_published or 0)
    assert len(alerts) == summary.alerts_published
