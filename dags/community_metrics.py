"""
### community_metrics

On the schedule `PULSE_PIPELINE_SCHEDULE` (cron, UTC; default every hour), for the period that
just ended (its **data interval**). Each run processes what **arrived** since the build BI sees
now (raw's `ingested_at`), whatever day it occurred on, and only the keys that changes
(incremental; a full build when there is nothing sound to start from, or with the param
`full_refresh`). At most one run at a time and no catchup: a run that starts late, or after a
failed one, catches up everything that arrived meanwhile.

1. **start_run** opens the run's row in `quality.pipeline_runs`;
2. **ingest_freshness** waits (reschedule mode: no worker slot is held) until raw has caught up
   with the interval end and the consumer's stored offsets are near the topic end; after
   `PULSE_FRESHNESS_TIMEOUT_S` it fails with the reason (lag per partition, raw's watermark);
3. **raw_gate** plans the build and validates the raw rows it will read (the arrival window)
   and the interval's events (Great Expectations); a failure stops the run before dbt;
4. **dbt_build** applies pending `member.erased` requests to raw and every other table, runs one
   `dbt build` with the marts in the run's own build schema (incremental: the base build's
   marts, the reopened keys rebuilt), records the build's watermark, and applies the erasures
   that arrived meanwhile;
5. **marts_gate** validates that build (keys on every row, every other rule on the rows it
   changed); **promote** points the BI views of `marts` at it, in one transaction (the next run
   starts from it);
6. **publish** sends one `community.metrics.v1` message per community per day of the interval
   and the new `community.alerts.v1` alerts (deterministic ids: a re-run sends no new ones);
7. **record_run** writes the verdict, row counts, gate results and durations to
   `quality.pipeline_runs`, and fails the DAG run if any step failed.

Gate failures, a refused promote and stale ingest fail their task without retries (a retry
cannot fix data); other errors are retried. `catchup` is off: past intervals are filled with
`airflow backfill create --dag-id community_metrics --from-date ... --to-date ...`. Run params
`interval_start`/`interval_end` override the data interval (`pulse run` uses them); params that
end in the future fail the run at once (no retries). `full_refresh` (`pulse run --full-refresh`)
rebuilds every table from all of raw.
Configuration: `PULSE_*` variables, connections `pulse_warehouse` and `pulse_kafka` if defined.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import _common
from airflow.sdk import (
    CronDataIntervalTimetable,
    Param,
    PokeReturnValue,
    TriggerRule,
    chain,
    dag,
    get_current_context,
    task,
)

from pulse import orchestration

_PARSED = _common.parse_time_settings()
POKE_INTERVAL_S = _PARSED.freshness_poke_interval_s
FRESHNESS_TIMEOUT_S = _PARSED.freshness_timeout_s


@dag(
    dag_id=orchestration.DAG_ID,
    schedule=CronDataIntervalTimetable(_PARSED.pipeline_schedule, timezone="UTC"),
    start_date=_common.START_DATE,
    # A run reads what arrived since the last validated build, so a missed interval needs no
    # run of its own: the next run catches up.
    catchup=False,
    # staging and intermediate are shared by all runs, and each run starts from the last
    # validated build: one run at a time (a slow run delays the next, never doubles it).
    max_active_runs=1,
    default_args=_common.DEFAULT_ARGS,
    tags=["community-pulse", "metrics", "dbt", "great-expectations", "kafka"],
    doc_md=__doc__,
    params={
        "interval_start": Param(
            None,
            type=["null", "string"],
            format="date-time",
            description="Start of the data interval, overriding the run's (with interval_end).",
        ),
        "interval_end": Param(
            None,
            type=["null", "string"],
            format="date-time",
            description="End (exclusive) of the data interval, overriding the run's.",
        ),
        "full_refresh": Param(
            False,
            type="boolean",
            description="Rebuild every table from all of raw instead of incrementally.",
        ),
    },
)
def community_metrics() -> None:
    @task
    def start_run() -> dict[str, Any]:
        context = get_current_context()
        dag_id, run_id = _common.run_identity(context)
        # Bad params (incomplete, not ISO 8601, empty, ending in the future) fail the run at once.
        with _common.no_retry_on(orchestration.PulseError):
            start, end = orchestration.resolve_interval(
                context["params"].get("interval_start"),
                context["params"].get("interval_end"),
                context.get("data_interval_start"),
                context.get("data_interval_end"),
            )
        run = orchestration.start_run(
            _common.pulse_settings(),
            dag_id=dag_id,
            run_id=run_id,
            interval_start=start,
            interval_end=end,
            full_refresh=bool(context["params"].get("full_refresh")),
        )
        return run.to_xcom()

    @task.sensor(
        poke_interval=POKE_INTERVAL_S,
        # Our own deadline (with the reason) comes first; this one is the backstop.
        timeout=FRESHNESS_TIMEOUT_S + 2 * POKE_INTERVAL_S,
        mode="reschedule",
    )
    def ingest_freshness(run: dict[str, Any]) -> PokeReturnValue:
        context = get_current_context()
        first_poke = context["ti"].get_first_reschedule_date(context)
        waited = (datetime.now(UTC) - first_poke).total_seconds() if first_poke else 0.0
        with _common.no_retry_on(*orchestration.STOP_ERRORS):
            freshness = orchestration.ingest_freshness(
                _common.pulse_settings(),
                orchestration.RunContext.from_xcom(run),
                waited_s=waited,
                timeout_s=FRESHNESS_TIMEOUT_S,
            )
        return PokeReturnValue(
            is_done=freshness.fresh, xcom_value=freshness.as_dict() if freshness.fresh else None
        )

    @task
    def raw_gate(run: dict[str, Any]) -> dict[str, Any]:
        with _common.no_retry_on(*orchestration.STOP_ERRORS):
            return orchestration.raw_gate(
                _common.pulse_settings(), orchestration.RunContext.from_xcom(run)
            )

    @task
    def dbt_build(run: dict[str, Any]) -> str:
        result = orchestration.dbt_build(
            _common.pulse_settings(), orchestration.RunContext.from_xcom(run)
        )
        return result["build_schema"]

    @task
    def marts_gate(run: dict[str, Any], build_schema: str) -> dict[str, Any]:
        with _common.no_retry_on(*orchestration.STOP_ERRORS):
            return orchestration.marts_gate(
                _common.pulse_settings(), orchestration.RunContext.from_xcom(run), build_schema
            )

    @task
    def promote(run: dict[str, Any], build_schema: str) -> dict[str, Any]:
        with _common.no_retry_on(*orchestration.STOP_ERRORS):
            return orchestration.promote_build(
                _common.pulse_settings(), orchestration.RunContext.from_xcom(run), build_schema
            )

    @task
    def publish(run: dict[str, Any], build_schema: str) -> dict[str, Any]:
        return orchestration.publish(
            _common.pulse_settings(), orchestration.RunContext.from_xcom(run), build_schema
        )

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def record_run(run: dict[str, Any] | None) -> dict[str, Any]:
        if run is None:  # start_run failed (e.g. bad params): no row to finish, nothing to retry
            with _common.no_retry_on(orchestration.PulseError):
                raise orchestration.PulseError(
                    "start_run opened no run (see its log); nothing to record"
                )
        states, seconds = _common.task_outcomes(get_current_context())
        summary = orchestration.finish_run(
            _common.pulse_settings(), orchestration.RunContext.from_xcom(run), states, seconds
        )
        if summary.status != "success":
            with _common.no_retry_on(orchestration.PulseError):
                raise orchestration.RunFailed(summary)
        return {"status": summary.status, "pipeline_run_id": summary.pipeline_run_id}

    run = start_run()
    fresh = ingest_freshness(run)
    raw = raw_gate(run)
    build = dbt_build(run)
    marts = marts_gate(run, build)
    promoted = promote(run, build)
    published = publish(run, build)
    chain(fresh, raw, build, marts, promoted, published)
    [fresh, raw, build, marts, promoted, published] >> record_run(run)


community_metrics()
