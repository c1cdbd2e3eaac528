"""The steps of a community_metrics run after freshness: raw gate, dbt build, marts gate, promote,
publish. The DAG's tasks and `pulse run` call these and nothing else: the one orchestration of
them.

Every step takes the run's `Settings` and its `RunContext` and records itself in the run's row.
Errors that a retry cannot fix (a failed gate, a refused promote, ingest not fresh after the
wait, failing dbt data tests) are `STOP_ERRORS`: the DAG fails the task at once, without
retries.

Build schemas: attempt 1 of run R builds into `build_schema_name(R)`; attempt n > 1 into
`build_schema_name("R#n")`, so re-running an interval never rebuilds the schema BI is reading.
The dbt build holds the warehouse's rebuild lock, which member erasure takes too, so an erasure
never interleaves with a build that would copy the member's rows again.

Incremental runs (`pulse.orchestration.build_plan`): the raw gate plans the build (full or
incremental, the arrival window) and validates exactly the rows of that window; the build step
applies pending erasures first (what they change is logged anonymously for the build to reopen),
builds, records the build's watermark only once dbt succeeded, and applies erasures that arrived
meanwhile; the marts gate validates the rows the build changed against its base build.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pulse.errors import PulseError
from pulse.maintenance.erasure import apply_erasures
from pulse.orchestration.build_plan import (
    BuildPlan,
    plan_build,
    record_build,
    recorded_plan,
    with_deletions,
)
from pulse.orchestration.dbt import run_dbt
from pulse.orchestration.freshness import IngestNotFresh
from pulse.orchestration.runs import RecordedStep, RunContext
from pulse.publishing.alerts import AlertThresholds
from pulse.publishing.incidents import publish_incidents
from pulse.publishing.promote import PromoteRefused, promote
from pulse.publishing.publish import publish_interval
from pulse.quality import GateFailed, GateSettings, run_marts_gate, run_raw_gate
from pulse.runtime import kafka_bootstrap, owner_dsn, warehouse_dsn
from pulse.settings import Settings
from pulse.warehouse.locks import rebuild_lock
from pulse.warehouse.names import MARTS
from streaming.topics import ensure_topics, pipeline_topics

logger = logging.getLogger(__name__)


class BuildTestsFailed(PulseError):
    """dbt's data tests failed on the build: the data, not the infrastructure, is at fault."""


# Failures a retry cannot fix: the DAG fails the task at once instead of retrying.
STOP_ERRORS: tuple[type[Exception], ...] = (
    GateFailed,
    PromoteRefused,
    IngestNotFresh,
    BuildTestsFailed,
)


# -- gates, dbt, promote, publish ---------------------------------------------------------------


# The run's row counts, each an index range (never a count of all of raw, which would cost what
# the history costs: raw_events_total is the table statistics' estimate).
RAW_COUNTS_QUERY = (
    "select "
    "(select count(*) from raw.community_events "
    " where occurred_at >= %(start)s and occurred_at < %(end)s), "
    "(select count(*) from raw.community_events "
    " where ingested_at >= coalesce(%(from)s, '-infinity'::timestamptz) "
    " and ingested_at < %(through)s), "
    "(select greatest(reltuples, 0)::bigint from pg_class "
    " where oid = 'raw.community_events'::regclass), "
    "(select count(*) from raw.dead_letter_events "
    " where received_at >= %(start)s and received_at < %(end)s)"
)


def _raw_counts(dsn: str, run: RunContext, plan: BuildPlan) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            RAW_COUNTS_QUERY,
            {
                "start": run.interval_start,
                "end": run.interval_end,
                "from": plan.arrived_from,
                "through": plan.arrived_through,
            },
        ).fetchone()
    assert row is not None
    return {
        "raw_events_in_interval": row[0],
        "raw_events_arrived": row[1],
        "raw_events_total": max(row[2], row[1]),
        "dead_letters_in_interval": row[3],
    }


def raw_gate(settings: Settings, run: RunContext) -> dict[str, Any]:
    """Plan the run's build, then validate the raw rows it will read (its arrival window) and
    the interval's events; raises GateFailed (recorded) when they fail."""
    dsn = warehouse_dsn(settings)
    with RecordedStep(dsn, run, "raw_gate") as step:
        plan = plan_build(dsn, settings, full_refresh=run.full_refresh)
        step.columns.update(plan.columns())
        step.columns.update(_raw_counts(dsn, run, plan))
        result = run_raw_gate(
            dsn,
            run_id=run.run_id,
            interval_start=run.interval_start,
            interval_end=run.interval_end,
            gate_settings=GateSettings.from_settings(settings),
            arrived_from=plan.arrived_from,
            arrived_through=plan.arrived_through,
        )
        step.columns.update(
            raw_validation_run_id=result.validation_run_id,
            raw_gate_success=result.success,
            raw_gate_summary="\n".join(result.summary_lines()),
        )
        for line in result.summary_lines():
            logger.info("%s", line)
        if not result.success:
            raise GateFailed(result)
    return {"validation_run_id": str(result.validation_run_id), "success": True}


def _dbt_timings(target: Path, top: int = 10) -> dict[str, Any]:
    path = target / "run_results.json"
    if not path.exists():
        return {}
    results = json.loads(path.read_text()).get("results", [])
    by_status: dict[str, int] = {}
    for node in results:
        by_status[node.get("status", "?")] = by_status.get(node.get("status", "?"), 0) + 1
    slowest = sorted(results, key=lambda node: node.get("execution_time") or 0, reverse=True)
    return {
        "nodes": len(results),
        "by_status": by_status,
        "slowest": [
            {"node": node.get("unique_id"), "seconds": round(node.get("execution_time") or 0, 2)}
            for node in slowest[:top]
        ],
    }


def _schema_state(dsn: str, schema: str) -> tuple[bool, bool]:
    """(exists, is read by a view of `marts`)."""
    with psycopg.connect(dsn) as conn:
        exists = conn.execute(
            "select exists (select from pg_namespace where nspname = %s)", [schema]
        ).fetchone()
        live = conn.execute(
            "select exists (select from information_schema.view_table_usage "
            "where view_schema = 'marts' and table_schema = %s)",
            [schema],
        ).fetchone()
    return bool(exists and exists[0]), bool(live and live[0])


def _drop_schema(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))


def mart_rows(dsn: str, schema: str) -> dict[str, int]:
    """Rows per mart of a build schema."""
    counts = {}
    with psycopg.connect(dsn) as conn:
        for mart in MARTS:
            row = conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier(schema, mart))
            ).fetchone()
            counts[mart] = int(row[0]) if row else 0
    return counts


def _plan_of(dsn: str, settings: Settings, run: RunContext) -> BuildPlan:
    """The plan the raw gate recorded for the run (or a new one, when the gate did not run)."""
    with psycopg.connect(dsn) as conn:
        plan = recorded_plan(conn, run.pipeline_run_id)
    if plan is not None and plan.base_build is not None:
        exists, _ = _schema_state(dsn, plan.base_build)
        if not exists:  # retired since the gate: nothing to start from any more
            plan = None
    return plan or plan_build(dsn, settings, full_refresh=run.full_refresh)


def dbt_build(settings: Settings, run: RunContext) -> dict[str, Any]:
    """`dbt build` (models and data tests; unit tests if the setting asks) into the build schema:
    incremental or full as planned (`pulse.orchestration.build_plan`)."""
    dsn = warehouse_dsn(settings)
    build = run.build_schema
    with RecordedStep(dsn, run, "dbt_build") as step:
        step.columns["build_schema"] = build
        exists, live = _schema_state(dsn, build)
        if live:
            raise PulseError(
                f"build schema {build} is what BI reads now; re-run the whole DAG run (a new "
                "attempt builds into a new schema) instead of this task alone"
            )
        # Erasures first: their rows leave raw and every table now, and raw's deletion log
        # keeps (anonymously) what they changed, which this build then reopens.
        step.details["erasure_before"] = apply_erasures(
            owner_dsn(settings), run_id=run.run_id
        ).as_dict()
        plan = with_deletions(dsn, _plan_of(dsn, settings, run))
        step.columns.update(plan.columns())
        with tempfile.TemporaryDirectory(prefix="pulse-dbt-") as scratch:
            target = Path(scratch)
            try:
                with rebuild_lock(dsn):
                    if exists:  # left over by a failed try of this attempt
                        _drop_schema(dsn, build)
                    try:
                        run_dbt(
                            dbt_build_args(settings, build, plan),
                            dsn,
                            settings,
                            target_path=target,
                        )
                    except PulseError as error:
                        # "Failure in test ...": a data test failed, which a retry cannot fix.
                        if ": Failure in " in str(error):
                            raise BuildTestsFailed(str(error)) from error
                        raise
            except BaseException:
                step.details["dbt"] = _dbt_timings(target)
                with contextlib.suppress(psycopg.Error):
                    _drop_schema(dsn, build)  # a half-built schema is of no use to anyone
                raise
            step.details["dbt"] = _dbt_timings(target)
        # Only now does the build say what of raw it reflects; the next run starts from it
        # once it is promoted.
        record_build(dsn, build_schema=build, run_id=run.run_id, plan=plan)
        step.columns["mart_rows"] = mart_rows(dsn, build)
        # The privacy contract: after the next run no row anywhere carries an erased member's key.
        # Erasures that arrived during the build are applied now rather than at the daily
        # member_erasure run (the next build reopens what they changed).
        step.details["erasure"] = apply_erasures(owner_dsn(settings), run_id=run.run_id).as_dict()
    return {"build_schema": build, "mart_rows": step.columns["mart_rows"]}


def dbt_build_args(settings: Settings, build: str, plan: BuildPlan | None = None) -> list[str]:
    """The `dbt build` arguments of a run that builds into `build` as `plan` says."""
    dbt_vars = {"marts_schema": build, **(plan.dbt_vars() if plan else {})}
    args = ["build", "--vars", json.dumps(dbt_vars)]
    if plan is not None and plan.incremental:
        # dbt's data tests read whole tables: those of staging and intermediate the history. An
        # incremental run leaves them to full builds and CI (they test the SQL, and the SQL has
        # not changed since the base build: its fingerprint says so) and relies on the marts
        # gate, which checks every mart's keys and the rows the run changed, and covers what the
        # marts' own dbt tests check (keys, ranges, suppression).
        args += ["--exclude-resource-type", "test"]
    # Unit tests check SQL logic on fixed inputs: CI and `pulse transform` run them; an hourly
    # run of unchanged code learns nothing from them (18 of 164 nodes, but half the node time:
    # 30 s -> 17 s for a build on 20k events).
    if not settings.pipeline_dbt_unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return args


def marts_gate(settings: Settings, run: RunContext, build_schema: str) -> dict[str, Any]:
    """Validate the build's marts; raises GateFailed (recorded) when they fail."""
    dsn = warehouse_dsn(settings)
    with RecordedStep(dsn, run, "marts_gate") as step:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "select base_build from quality.build_watermarks where build_schema = %s",
                [build_schema],
            ).fetchone()
        result = run_marts_gate(
            dsn,
            run_id=run.run_id,
            build_schema=build_schema,
            gate_settings=GateSettings.from_settings(settings),
            base_build=row[0] if row else None,
        )
        step.columns.update(
            marts_validation_run_id=result.validation_run_id,
            marts_gate_success=result.success,
            marts_gate_summary="\n".join(result.summary_lines()),
        )
        for line in result.summary_lines():
            logger.info("%s", line)
        if not result.success:
            raise GateFailed(result)
    return {"validation_run_id": str(result.validation_run_id), "success": True}


def promote_build(settings: Settings, run: RunContext, build_schema: str) -> dict[str, Any]:
    """Point the `marts` views at the validated build (one transaction)."""
    dsn = warehouse_dsn(settings)
    with RecordedStep(dsn, run, "promote") as step:
        promotion = promote(
            owner_dsn(settings),
            run_id=run.run_id,
            build_schema=build_schema,
            keep_builds=settings.keep_builds,
        )
        step.columns["promoted"] = True
        step.details["promotion"] = {
            "build_schema": promotion.build_schema,
            "previous_build_schema": promotion.previous_build_schema,
            "retired_builds": promotion.retired_builds,
        }
    return step.details["promotion"]


def publish(settings: Settings, run: RunContext, build_schema: str) -> dict[str, Any]:
    """Send the interval's metrics, the incidents' new lifecycle events and (while
    PULSE_ALERTS_ENABLED) the new alerts to the outbound topics."""

    dsn = warehouse_dsn(settings)
    bootstrap = kafka_bootstrap(settings)
    with RecordedStep(dsn, run, "publish") as step:
        topics = pipeline_topics(settings)
        outbound = [settings.metrics_topic, settings.incidents_topic]
        if settings.alerts_enabled:
            outbound.append(settings.alerts_topic)
        ensure_topics(bootstrap, {name: topics[name] for name in outbound})
        report = publish_interval(
            dsn,
            bootstrap,
            run_id=run.run_id,
            build_schema=build_schema,
            interval_start=run.interval_start,
            interval_end=run.interval_end,
            metrics_topic=settings.metrics_topic,
            alerts_topic=settings.alerts_topic if settings.alerts_enabled else None,
            thresholds=AlertThresholds.from_settings(settings),
        )
        incidents = publish_incidents(
            dsn,
            bootstrap,
            run_id=run.run_id,
            build_schema=build_schema,
            interval_start=run.interval_start,
            interval_end=run.interval_end,
            topic=settings.incidents_topic,
        )
        step.columns.update(
            metrics_published=report.metrics,
            alerts_published=report.alerts_published,
            alerts_already_published=report.alerts_already_published,
        )
        step.details["publish"] = report.as_dict()
        step.details["incidents"] = incidents.as_dict()
    return {**report.as_dict(), "incidents": incidents.as_dict()}
