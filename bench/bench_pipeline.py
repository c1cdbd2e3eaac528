"""community_metrics benchmark: one DAG run (`dag.test()`) over N raw events, task by task.

    python bench/bench_pipeline.py                      # 1,000,000 events, embedded services
    python bench/bench_pipeline.py --events 200000 --runs 2
    python bench/bench_pipeline.py --dsn postgresql://postgres@127.0.0.1:5432/postgres \
        --bootstrap 127.0.0.1:9092

Raw events come from `pulse.local.generator` (seeded), decoded and pseudonymised by the ingest
decoder and written with COPY, as the consumer writes them (bench_ingest.py measures the consumer
itself), so the topic is drained and the freshness check passes at once. The run covers the last
generated day (`--hours` to change) through the real DAG: freshness, raw gate, dbt build into a
build schema, marts gate, promote, publish to the outbound topics, record. Airflow runs in a
temporary home with a SQLite metadata database.

Printed: the run's wall time; per task, Airflow's duration (task start-up included) and the
step's own work time from quality.pipeline_runs; dbt's slowest nodes; what was published. With
`--runs 2` the same interval runs again (a warm process: Airflow's in-process API is up).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from _warehouse import BENCH_KEY, load_raw
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pulse import orchestration
from pulse.local.generator import GeneratorConfig, generate
from pulse.local.stack import LocalStack
from pulse.settings import Settings
from pulse.warehouse.init import ensure_pipeline_tables, init_warehouse
from streaming.topics import ensure_topics, pipeline_topics

TASKS = (
    "start_run",
    "ingest_freshness",
    "raw_gate",
    "dbt_build",
    "marts_gate",
    "promote",
    "publish",
    "record_run",
)


def report(dsn: str, summary: orchestration.RunSummary, wall: float) -> None:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select details, mart_rows, metrics_published, alerts_published, "
            "alerts_already_published from quality.pipeline_runs where pipeline_run_id = %s",
            [summary.pipeline_run_id],
        ).fetchone()
    assert row is not None
    details, mart_rows, metrics, alerts, alerts_before = row
    print(f"\nrun {summary.run_id} attempt {summary.attempt}: {summary.status}, wall {wall:.1f} s")
    print(f"  {'task':<18}{'Airflow task s':>16}{'step work s':>14}")
    for task in TASKS:
        airflow_s = summary.task_seconds.get(task)
        step_s = summary.step_seconds.get(task)
        print(
            f"  {task:<18}"
            f"{'' if airflow_s is None else f'{airflow_s:.1f}':>16}"
            f"{'' if step_s is None else f'{step_s:.1f}':>14}"
        )
    in_tasks = sum(summary.task_seconds.values())
    print(f"  {'(between tasks)':<18}{wall - in_tasks:>16.1f}")
    dbt = details.get("dbt", {})
    print(f"  dbt: {dbt.get('nodes')} nodes {dbt.get('by_status')}; slowest:")
    for node in dbt.get("slowest", [])[:8]:
        print(f"      {node['seconds']:6.1f} s  {node['node']}")
    print(f"  marts: {mart_rows}")
    print(f"  published: {metrics} metrics, {alerts} alerts ({alerts_before} sent before)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="raw events")
    parser.add_argument("--days", type=int, default=60, help="span of the generated events")
    parser.add_argument("--hours", type=int, default=24, help="length of the data interval")
    parser.add_argument("--runs", type=int, default=1, help="runs of the same interval")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dsn", help="an existing server (superuser DSN); default: embedded")
    parser.add_argument("--bootstrap", help="an existing Kafka; default: embedded")
    parser.add_argument(
        "--dbt-unit-tests", action="store_true", help="run dbt unit tests in the build too"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="pulse-bench-pipeline-"))
    stack: LocalStack | None = None
    if not (args.dsn and args.bootstrap):
        stack = LocalStack(workdir / "stack")
        stack.up(postgres=args.dsn is None, kafka=args.bootstrap is None)
    info = stack.require_info() if stack else None
    admin_dsn = args.dsn or info.pg_dsn  # type: ignore[union-attr]
    bootstrap = args.bootstrap or info.kafka_bootstrap  # type: ignore[union-attr]
    database = f"pulse_bench_{uuid.uuid4().hex[:8]}"
    dsn = make_conninfo(admin_dsn, dbname=database)
    admin = make_conninfo(admin_dsn, dbname=conninfo_to_dict(admin_dsn).get("dbname", "postgres"))
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=bootstrap,
        pg_dsn=dsn,
        pseudonym_key=BENCH_KEY,
        state_dir=workdir / ".pulse",
        events_topic=f"bench.events.{suffix}",
        dlq_topic=f"bench.dlq.{suffix}",
        metrics_topic=f"bench.metrics.{suffix}",
        alerts_topic=f"bench.alerts.{suffix}",
        consumer_group=f"bench-{suffix}",
    )
    environment = {
        "PULSE_KAFKA_BOOTSTRAP": bootstrap,
        "PULSE_PG_DSN": dsn,
        "PULSE_PSEUDONYM_KEY": BENCH_KEY,
        "PULSE_STATE_DIR": str(settings.state_dir),
        "PULSE_EVENTS_TOPIC": settings.events_topic,
        "PULSE_DLQ_TOPIC": settings.dlq_topic,
        "PULSE_METRICS_TOPIC": settings.metrics_topic,
        "PULSE_ALERTS_TOPIC": settings.alerts_topic,
        "PULSE_CONSUMER_GROUP": settings.consumer_group,
        "PULSE_PIPELINE_DBT_UNIT_TESTS": "true" if args.dbt_unit_tests else "false",
        # Keep Airflow's task logs out of the report.
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
        init_warehouse(dsn)
        ensure_pipeline_tables(dsn)
        ensure_topics(bootstrap, pipeline_topics(settings))

        started = time.perf_counter()
        config = GeneratorConfig(
            seed=args.seed,
            events=round(args.events / 0.95),
            days=args.days,
            invalid_share=0.0,
            duplicate_share=0.0,
        )
        values = [m.value for m in generate(config) if m.kind == "valid" and m.value]
        values = values[: args.events]
        generated = time.perf_counter() - started
        started = time.perf_counter()
        stored = load_raw(dsn, values, settings.events_topic)
        print(
            f"generated {len(values):,} events in {generated:.1f} s; "
            f"loaded {stored:,} into raw in {time.perf_counter() - started:.1f} s"
        )
        end = config.end or datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
        start = end - timedelta(hours=args.hours)

        os.environ.update(environment)
        home = workdir / "airflow"
        os.environ.update(orchestration.airflow_environment(home))
        started = time.perf_counter()
        orchestration.migrate_airflow_db(home)
        print(f"Airflow metadata database created in {time.perf_counter() - started:.1f} s")
        for _ in range(args.runs):
            started = time.perf_counter()
            summary = orchestration.run_once(Settings(), start, end)
            report(dsn, summary, time.perf_counter() - started)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database))
            )
        if stack is not None:
            stack.down(purge=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
