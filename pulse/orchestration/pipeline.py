"""One community_metrics run, step by step: what the DAG's tasks (and `pulse run`) call.

A run covers one data interval [start, end) and goes:

    start_run -> ingest_freshness -> raw_gate -> dbt_build -> marts_gate -> promote -> publish
    -> finish_run

Every step is a function here taking the run's `Settings` and its `RunContext`; the Airflow tasks
in dags/community_metrics.py are a few lines around them. Each step records what it did and how
long it took in its row of `quality.pipeline_runs` (one row per execution of a run: a re-run of the
same Airflow run is a new row, `attempt` + 1), and `finish_run` sets the verdict. A step that
fails records the first failure (step and one-line error) before raising.

Errors that a retry cannot fix (a failed gate, a refused promote, ingest not fresh after the
wait) are `STOP_ERRORS`: the DAG turns them into a task failure without retries.

Build schemas: attempt 1 of run R builds into `build_schema_name(R)`; attempt n > 1 into
`build_schema_name("R#n")`, so re-running an interval never rebuilds the schema BI is reading.
The dbt build holds the warehouse's rebuild lock (`rebuild_lock`), which member erasure takes too,
so an erasure never interleaves with a build that would copy the member's rows again.
"""

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
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from pulse.errors import PulseError
from pulse.paths import DAGS_DIR
from pulse.publishing.promote import PromoteRefused, build_schema_name, promote
from pulse.quality.gates import GateFailed, GateSettings, run_marts_gate, run_raw_gate
from pulse.runtime import kafka_bootstrap, warehouse_dsn
from pulse.settings import Settings
from pulse.timestamps import parse_moment
from pulse.warehouse.init import ensure_pipeline_tables
from pulse.warehouse.locks import lock_in_transaction, rebuild_lock
from pulse.warehouse.names import MARTS

logger = logging.getLogger(__name__)

DAG_ID = "community_metrics"
STEPS = ("ingest_freshness", "raw_gate", "dbt_build", "marts_gate", "promote", "publish")


class IngestNotFresh(PulseError):
    """Raw has not caught up with the data interval, and waiting longer is not allowed."""


class BuildTestsFailed(PulseError):
    """dbt's data tests failed on the build: the data, not the infrastructure, is at fault."""


class RunFailed(PulseError):
    """The run did not get through every step; `summary` says where it stopped."""

    def __init__(self, summary: RunSummary) -> None:
        super().__init__(summary.headline())
        self.summary = summary


# Failures a retry cannot fix: the DAG fails the task at once instead of retrying.
STOP_ERRORS: tuple[type[Exception], ...] = (
    GateFailed,
    PromoteRefused,
    IngestNotFresh,
    BuildTestsFailed,
)


# -- the run ------------------------------------------------------------------------------------


# How far ahead of this machine's clock an explicit interval end may be (clock skew between the
# machine that chose it and this one); the freshness check then waits those seconds out.
FUTURE_END_TOLERANCE = timedelta(seconds=5)


def refuse_future_end(end: datetime, now: datetime | None = None) -> None:
    """Raise when an interval ends in the future: its freshness cannot come before that moment,
    so a run would only wait (up to the freshness timeout) for nothing."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if end > now + FUTURE_END_TOLERANCE:
        raise PulseError(
            f"the interval ends at {end.isoformat()}, in the future (now {now:%Y-%m-%dT%H:%M:%S}"
            "+00:00); a run covers a past interval (the last complete hour by default)"
        )


def resolve_interval(
    explicit_start: str | datetime | None,
    explicit_end: str | datetime | None,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """The run's interval: explicit bounds (run params) if given, else the DAG run's interval.

    Explicit bounds that end in the future are refused (`refuse_future_end`), so a manually
    triggered run with such params fails at once instead of waiting in the freshness check; a
    scheduled run's own interval always ends before the run starts.
    """
    if (explicit_start is None) != (explicit_end is None):
        raise PulseError("give both interval_start and interval_end, or neither")
    if explicit_start is not None and explicit_end is not None:
        start = parse_moment(explicit_start, "interval_start")
        end = parse_moment(explicit_end, "interval_end")
        refuse_future_end(end, now)
    elif data_interval_start is not None and data_interval_end is not None:
        start = parse_moment(data_interval_start, "data_interval_start")
        end = parse_moment(data_interval_end, "data_interval_end")
    else:
        raise PulseError("the run has no data interval; give interval_start and interval_end")
    if end <= start:
        raise PulseError(f"the data interval is empty: {start.isoformat()} to {end.isoformat()}")
    return start, end


@dataclass(frozen=True)
class RunContext:
    """Who the run is; travels between tasks as a plain dict (XCom)."""

    dag_id: str
    run_id: str
    pipeline_run_id: int
    attempt: int
    interval_start: datetime
    interval_end: datetime

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
        )


def start_run(
    settings: Settings,
    *,
    dag_id: str,
    run_id: str,
    interval_start: datetime,
    interval_end: datetime,
) -> RunContext:
    """Open the run's row in quality.pipeline_runs (status running)."""
    dsn = warehouse_dsn(settings)
    with psycopg.connect(dsn) as conn:
        lock_in_transaction(conn, f"pulse run {run_id}")
        row = conn.execute(
            "insert into quality.pipeline_runs (dag_id, run_id, attempt, interval_start, "
            "interval_end) select %s, %s, coalesce(max(attempt), 0) + 1, %s, %s "
            "from quality.pipeline_runs where dag_id = %s and run_id = %s "
            "returning pipeline_run_id, attempt",
            [dag_id, run_id, interval_start, interval_end, dag_id, run_id],
        ).fetchone()
    assert row is not None
    run = RunContext(dag_id, run_id, row[0], row[1], interval_start, interval_end)
    logger.info(
        "run %s (attempt %d): interval %s to %s",
        run_id,
        run.attempt,
        interval_start.isoformat(),
        interval_end.isoformat(),
    )
    return run


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:500]


def _update_run(
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
        params += [step, _one_line(error)]
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


class _Step:
    """Times a step and records it; on an exception records the failure and re-raises."""

    def __init__(self, dsn: str, run: RunContext, name: str) -> None:
        self.dsn, self.run, self.name = dsn, run, name
        self.columns: dict[str, Any] = {}
        self.details: dict[str, Any] = {}

    def __enter__(self) -> _Step:
        self.started = time.perf_counter()
        logger.info("step %s of run %s", self.name, self.run.run_id)
        return self

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> None:
        seconds = time.perf_counter() - self.started
        try:
            _update_run(
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


# -- ingest freshness ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """Whether raw has caught up with the end of the interval, and why (not)."""

    interval_end: datetime
    checked_at: datetime
    watermark: datetime | None
    end_offsets: dict[int, int]
    stored_offsets: dict[int, int]
    max_lag: int
    fresh: bool
    reason: str
    lag_by_partition: dict[int, int] = field(default_factory=dict)

    @property
    def total_lag(self) -> int:
        return sum(self.lag_by_partition.values())

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("interval_end", "checked_at", "watermark"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        for key in ("end_offsets", "stored_offsets", "lag_by_partition"):
            data[key] = {str(k): v for k, v in sorted(data[key].items())}
        data["total_lag"] = self.total_lag
        return data


def assess_freshness(
    *,
    topic: str,
    interval_end: datetime,
    now: datetime,
    watermark: datetime | None,
    end_offsets: Mapping[int, int],
    stored_offsets: Mapping[int, int],
    max_lag: int,
    counted_lag: Mapping[int, int] | None = None,
) -> Freshness:
    """Pure verdict: fresh when the consumer's stored offsets are within `max_lag` messages of
    the topic end AND raw reaches the interval end, i.e. holds an event at or after it, or the
    consumer has read everything there is (a quiet stream has no later event to show).

    Topic ends are read after the interval ended, so a fully drained topic means every message
    produced during the interval is in raw. A partition's lag is the larger of end offset minus
    stored offset and `counted_lag`, the messages actually found after the stored offset (end
    offsets may under-report, as Tansu's do; ENV-NOTES).
    """
    counted = counted_lag or {}
    lag = {
        p: max(end - stored_offsets.get(p, 0), counted.get(p, 0), 0)
        for p, end in end_offsets.items()
    }
    total = sum(lag.values())
    mark = watermark.isoformat() if watermark else "nothing"

    def verdict(fresh: bool, reason: str) -> Freshness:
        return Freshness(
            interval_end=interval_end,
            checked_at=now,
            watermark=watermark,
            end_offsets=dict(end_offsets),
            stored_offsets=dict(stored_offsets),
            max_lag=max_lag,
            fresh=fresh,
            reason=reason,
            lag_by_partition=lag,
        )

    if now < interval_end:
        return verdict(False, f"the interval ends at {interval_end.isoformat()}, in the future")
    if not end_offsets:
        return verdict(False, f"topic {topic} has no partitions (does it exist?)")
    if total > max_lag:
        behind = ", ".join(f"partition {p}: {n:,}" for p, n in sorted(lag.items()) if n)
        return verdict(
            False,
            f"ingest is {total:,} messages behind the end of {topic} (allowed {max_lag:,}; "
            f"{behind}); raw holds events up to {mark}",
        )
    if total > 0 and (watermark is None or watermark < interval_end):
        return verdict(
            False,
            f"raw holds events up to {mark} only, before the interval end "
            f"{interval_end.isoformat()}, and ingest is {total:,} messages behind",
        )
    return verdict(
        True,
        f"raw holds events up to {mark}; ingest is {total:,} messages behind the topic end "
        f"(allowed {max_lag:,})",
    )


def _topic_positions(
    bootstrap: str, topic: str, stored: Mapping[int, int], count_up_to: int, idle_s: float = 0.5
) -> tuple[dict[int, int], dict[int, int]]:
    """(end offset, messages counted after the stored offset) per partition of `topic`.

    Counting reads at most `count_up_to` messages per partition (enough to tell "more than the
    allowed lag" apart), so it stays cheap however far behind ingest is.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="pulse-freshness",
        enable_auto_commit=False,
        request_timeout_ms=30_000,
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return {}, {}
        ends = {tp.partition: int(offset) for tp, offset in consumer.end_offsets(tps).items()}
        consumer.assign(tps)
        for tp in tps:
            if tp.partition in stored:
                consumer.seek(tp, stored[tp.partition])
            else:
                consumer.seek_to_beginning(tp)
        counted = dict.fromkeys(ends, 0)
        started = last = time.monotonic()
        while time.monotonic() - last < idle_s and time.monotonic() - started < 10:
            polled = consumer.poll(timeout_ms=100)
            for tp, records in polled.items():
                last = time.monotonic()
                counted[tp.partition] += len(records)
                if counted[tp.partition] >= count_up_to:
                    consumer.pause(tp)
            if all(n >= count_up_to for n in counted.values()):
                break
        return ends, counted
    finally:
        consumer.close()


def check_freshness(
    settings: Settings, interval_end: datetime, now: datetime | None = None
) -> Freshness:
    """Read the stored offsets, raw's watermark and the topic's positions; return the verdict."""
    dsn = warehouse_dsn(settings)
    max_lag = settings.freshness_max_lag
    with psycopg.connect(dsn) as conn:
        stored = dict(
            conn.execute(
                "select partition, next_offset from raw.consumer_offsets "
                "where consumer_group = %s and topic = %s",
                [settings.consumer_group, settings.events_topic],
            ).fetchall()
        )
        # Events dated beyond the ingest tolerance are rejected by the consumer; the bound keeps
        # a stray one from passing for a watermark.
        row = conn.execute(
            "select max(occurred_at) from raw.community_events "
            "where occurred_at <= now() + make_interval(secs => %s)",
            [settings.future_tolerance_s],
        ).fetchone()
    ends, counted = _topic_positions(
        kafka_bootstrap(settings), settings.events_topic, stored, max_lag + 1
    )
    return assess_freshness(
        topic=settings.events_topic,
        interval_end=interval_end,
        now=now or datetime.now(UTC),
        watermark=row[0] if row else None,
        end_offsets=ends,
        stored_offsets=stored,
        max_lag=max_lag,
        counted_lag=counted,
    )


def ingest_freshness(
    settings: Settings, run: RunContext, *, waited_s: float, timeout_s: float | None = None
) -> Freshness:
    """One poke of the freshness check.

    Returns:
        The verdict; when it is not fresh the caller waits and asks again.

    Raises:
        IngestNotFresh: not fresh and the run has waited `timeout_s` (default: the
            freshness_timeout_s setting) already; the failure is recorded.
    """
    timeout = float(settings.freshness_timeout_s if timeout_s is None else timeout_s)
    dsn = warehouse_dsn(settings)
    started = time.perf_counter()
    freshness = check_freshness(settings, run.interval_end)
    seconds = time.perf_counter() - started
    record = {"freshness": {**freshness.as_dict(), "waited_s": round(waited_s, 1)}}
    if freshness.fresh:
        _update_run(dsn, run, step="ingest_freshness", seconds=seconds, details=record)
        logger.info("ingest is fresh: %s", freshness.reason)
        return freshness
    if waited_s >= timeout:
        error = IngestNotFresh(
            f"ingest is not fresh for the interval {run.interval_start.isoformat()} to "
            f"{run.interval_end.isoformat()} after waiting {waited_s:.0f} s: {freshness.reason}. "
            "Is the consumer (`pulse consume`) running and keeping up?"
        )
        _update_run(dsn, run, step="ingest_freshness", seconds=seconds, details=record, error=error)
        raise error
    logger.info(
        "ingest not fresh yet (waited %.0f s of %.0f): %s", waited_s, timeout, freshness.reason
    )
    return freshness


# -- gates, dbt, promote, publish ---------------------------------------------------------------


def _interval_counts(dsn: str, run: RunContext) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select "
            "(select count(*) from raw.community_events "
            " where occurred_at >= %(start)s and occurred_at < %(end)s), "
            "(select count(*) from raw.community_events), "
            "(select count(*) from raw.dead_letter_events "
            " where received_at >= %(start)s and received_at < %(end)s)",
            {"start": run.interval_start, "end": run.interval_end},
        ).fetchone()
    assert row is not None
    return {
        "raw_events_in_interval": row[0],
        "raw_events_total": row[1],
        "dead_letters_in_interval": row[2],
    }


def raw_gate(settings: Settings, run: RunContext) -> dict[str, Any]:
    """Validate the interval's raw events; raises GateFailed (recorded) when they fail."""
    dsn = warehouse_dsn(settings)
    with _Step(dsn, run, "raw_gate") as step:
        step.columns.update(_interval_counts(dsn, run))
        result = run_raw_gate(
            dsn,
            run_id=run.run_id,
            interval_start=run.interval_start,
            interval_end=run.interval_end,
            gate_settings=GateSettings.from_settings(settings),
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


def dbt_build(settings: Settings, run: RunContext) -> dict[str, Any]:
    """`dbt build` (models and data tests; unit tests if the setting asks) into the build schema."""
    from pulse.orchestration.dbt import run_dbt

    dsn = warehouse_dsn(settings)
    build = run.build_schema
    with _Step(dsn, run, "dbt_build") as step:
        step.columns["build_schema"] = build
        exists, live = _schema_state(dsn, build)
        if live:
            raise PulseError(
                f"build schema {build} is what BI reads now; re-run the whole DAG run (a new "
                "attempt builds into a new schema) instead of this task alone"
            )
        with tempfile.TemporaryDirectory(prefix="pulse-dbt-") as scratch:
            target = Path(scratch)
            try:
                with rebuild_lock(dsn):
                    if exists:  # left over by a failed try of this attempt
                        _drop_schema(dsn, build)
                    try:
                        run_dbt(_dbt_build_args(settings, build), dsn, settings, target_path=target)
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
        step.columns["mart_rows"] = mart_rows(dsn, build)
        # DESIGN: after the next pipeline run no row anywhere carries an erased member's key.
        # The build above already left them out of every model; this removes them from raw
        # (and any other table) now rather than at the daily member_erasure run.
        from pulse.maintenance.erasure import apply_erasures

        step.details["erasure"] = apply_erasures(dsn, run_id=run.run_id).as_dict()
    return {"build_schema": build, "mart_rows": step.columns["mart_rows"]}


def _dbt_build_args(settings: Settings, build: str) -> list[str]:
    args = ["build", "--vars", json.dumps({"marts_schema": build})]
    # Unit tests check SQL logic on fixed inputs: CI and `pulse transform` run them; an hourly
    # run of unchanged code learns nothing from them (18 of 164 nodes, but half the node time:
    # 30 s -> 17 s for a build on 20k events).
    if not settings.pipeline_dbt_unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return args


def marts_gate(settings: Settings, run: RunContext, build_schema: str) -> dict[str, Any]:
    """Validate the build's marts; raises GateFailed (recorded) when they fail."""
    dsn = warehouse_dsn(settings)
    with _Step(dsn, run, "marts_gate") as step:
        result = run_marts_gate(
            dsn,
            run_id=run.run_id,
            build_schema=build_schema,
            gate_settings=GateSettings.from_settings(settings),
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
    with _Step(dsn, run, "promote") as step:
        promotion = promote(
            dsn,
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
    """Send the interval's metrics and new alerts to the outbound topics."""
    from pulse.publishing.alerts import AlertThresholds
    from pulse.publishing.publish import publish_interval
    from streaming.topics import ensure_topics, pipeline_topics

    dsn = warehouse_dsn(settings)
    bootstrap = kafka_bootstrap(settings)
    with _Step(dsn, run, "publish") as step:
        topics = pipeline_topics(settings)
        ensure_topics(
            bootstrap,
            {name: topics[name] for name in (settings.metrics_topic, settings.alerts_topic)},
        )
        report = publish_interval(
            dsn,
            bootstrap,
            run_id=run.run_id,
            build_schema=build_schema,
            interval_start=run.interval_start,
            interval_end=run.interval_end,
            metrics_topic=settings.metrics_topic,
            alerts_topic=settings.alerts_topic,
            thresholds=AlertThresholds.from_settings(settings),
        )
        step.columns.update(
            metrics_published=report.metrics,
            alerts_published=report.alerts_published,
            alerts_already_published=report.alerts_already_published,
        )
        step.details["publish"] = report.as_dict()
    return report.as_dict()


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


# -- running the DAG once without a scheduler (`pulse run`) --------------------------------------


def airflow_environment(home: Path) -> dict[str, str]:
    """Environment of an Airflow living in `home`: SQLite metadata database, this repository's
    dags/, no examples, no usage data sent anywhere."""
    home = home.resolve()
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "False",
    }


def migrate_airflow_db(home: Path) -> None:
    """`airflow db migrate` for the Airflow in `home`, once per Airflow version.

    In this process when it is configured for `home` (a few seconds), else through the CLI.
    """
    from importlib.metadata import version

    home.mkdir(parents=True, exist_ok=True)
    marker = home / f".pulse-migrated-{version('apache-airflow')}"
    if marker.exists():
        return
    logger.info("creating the Airflow metadata database under %s", home)
    configured = os.environ.get("AIRFLOW_HOME")
    if configured and Path(configured).resolve() == home.resolve():
        from airflow.utils.db import upgradedb

        upgradedb()
    else:
        airflow = Path(sys.executable).with_name("airflow")
        command = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
        completed = subprocess.run(
            [*command, "db", "migrate"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **airflow_environment(home)},
        )
        if completed.returncode != 0:
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:]
            raise PulseError(f"airflow db migrate failed: {' '.join(tail) or 'no output'}")
    marker.touch()


def prepare_local_airflow(state_dir: Path) -> Path:
    """Select (and set up once) a local Airflow for this process; returns its AIRFLOW_HOME.

    An AIRFLOW_HOME already set is used as it is, with its own configuration and metadata
    database (which this does not migrate); otherwise the Airflow lives in the state folder
    (`.pulse/airflow`, SQLite) and its database is created on first use. Must run before anything
    imports `airflow`.
    """
    configured = os.environ.get("AIRFLOW_HOME")
    if configured:
        home = Path(configured)
        for name, value in airflow_environment(home).items():
            if name != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
                os.environ.setdefault(name, value)
        return home
    home = state_dir / "airflow"
    os.environ.update(airflow_environment(home))
    migrate_airflow_db(home)
    return home


def load_dag(dag_id: str) -> Any:
    """The DAG `dag_id` from this repository's dags/ (parsed as Airflow's dag-processor does)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=DAGS_DIR, bundle_path=DAGS_DIR, bundle_name="dags-folder")
    if bag.import_errors:
        first = next(iter(bag.import_errors.items()))
        raise PulseError(
            f"DAG files do not import: {first[0]}: {first[1].strip().splitlines()[-1]}"
        )
    if dag_id not in bag.dags:
        raise PulseError(f"no DAG {dag_id} in {DAGS_DIR.name}/")
    return bag.dags[dag_id]


def last_complete_hour(now: datetime | None = None) -> tuple[datetime, datetime]:
    end = (now or datetime.now(UTC)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(hours=1), end


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
_CHILD_CODE = "from pulse.orchestration.pipeline import _dag_test_child; _dag_test_child()"


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
        return RunInterrupted(signum, None, f"(could not mark its row failed: {_one_line(error)})")
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
    logging.basicConfig(level=int(request["log_level"]), format="%(message)s")
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
            run_conf={"interval_start": start.isoformat(), "interval_end": end.isoformat()},
        )
        result = {"run_id": dag_run.run_id, "state": str(dag_run.state)}
    except PulseError as error:
        result = {"error": str(error)}
    Path(request["result"]).write_text(json.dumps(result))


def run_once(
    settings: Settings,
    interval_start: datetime | None = None,
    interval_end: datetime | None = None,
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
            "result": str(result_file),
        }
        with _StopSignals():
            child = None
            try:
                child = subprocess.Popen(
                    [sys.executable, "-c", _CHILD_CODE, json.dumps(request)],
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
                returncode = child.wait()
            except _Signalled as signalled:
                if child is not None:
                    _stop_process_group(child)
                raise _interrupted(signalled.signum, dsn, after_id, start, end) from None
        result = json.loads(result_file.read_text()) if result_file.exists() else {}
    if "error" in result:
        raise PulseError(result["error"])
    if "run_id" not in result:
        raise PulseError(
            f"the Airflow process of the run ended (exit code {returncode}) without a result; "
            "its log is above"
        )
    summary = latest_run(dsn, result["run_id"])
    if summary is None:
        raise PulseError(f"the run {result['run_id']} recorded nothing (state {result['state']})")
    if summary.status != "success":
        raise RunFailed(summary)
    return summary
