"""Scale benchmark: a full build against an hourly run, at 1M, 3M and 10M events of history.

    python bench/bench_scale.py                           # 1M, 3M and 10M (~40 min, 2 cores)
    python bench/bench_scale.py --sizes 1 --base-events 200000      # a quick look
    python bench/bench_scale.py --json bench-scale.json   # the figures, for the docs

The world is generated once (`pulse.local.generator`, seeded, `--days` of traffic: with 42 days
one hour is about 0.1% of it) and decoded once as the consumer decodes (pseudonymised, sentiment
from text). A history of N x `--base-events` is N copies of that world under other community,
brand and member ids (each copy loaded by one transaction, as a long-running consumer would
have), so every size has the same per-community shape and 0.1% of it arrives per hour. The last
0.2% of the stream is held back: "the hour" and the 5-minute simulation, and the last hour before
them is kept out of the history as "one world's hour"; late events (the generator delivers ~1%
of events 1-2 days late) are among them.

Per size, in a fresh database on one embedded PostgreSQL + Kafka broker:
1. the history is loaded, then one run of the pipeline's own steps (ingest freshness, raw gate,
   dbt build, marts gate, promote, publish - what the DAG's tasks call, without Airflow's task
   start-up) builds everything: the full build;
2. the hour arrives in 12 ingest transactions, then one run: the hourly run (incremental). Its
   events are 0.1% of the history at every size, so at 10M it brings ten times the events of
   the hour at 1M, in ten times the communities;
3. one world's hour arrives: the hour before the hour, of one copy of the world only (the same
   events at every size; they arrive an hour late), then one run: what the same new data costs
   on a larger history. Its interval holds a tenth of the traffic of those before it at 10M,
   which the raw gate's volume check rightly calls a drop, so this run alone widens the band,
   and reads without the arrival margin (it would read the hour again);
4. at the largest size (or every size with --latency-all), a 5-minute schedule on a bench
   clock: the next hour's events arrive spread over 60 bench minutes, a run starts every 5 bench
   minutes (or when the previous one ends, if later: one run at a time) and processes what has
   arrived; a run takes as long as it really takes. An event's latency is the end of the publish
   step of the first run that read it minus its arrival.

Printed: seconds per step of each run (and dbt's ten slowest nodes), then one table of full
build, hourly run, their ratio and the run of one world's hour per history size, then the latency
of the 5-minute schedule.
Other work on the machine moves the figures: run nothing else meanwhile.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from _warehouse import BENCH_KEY, bench_warehouse, decode_rows
from psycopg import sql

from pulse import orchestration
from pulse.local.generator import GeneratorConfig, generate
from pulse.local.stack import LocalStack
from pulse.quality import GateFailed, copy_project
from pulse.settings import Settings
from pulse.warehouse.init import ensure_pipeline_tables
from streaming.decode import EVENT_COLUMNS
from streaming.topics import ensure_topics, pipeline_topics

STEPS = ("ingest_freshness", "raw_gate", "dbt_build", "marts_gate", "promote", "publish")
HOUR_SHARE = 0.001  # of the history: one hour's events
# Generated beyond the history: the hour and the 5-minute simulation. One world's hour is the
# last hour of the history's share, so the world (and both of those) stay as they have been.
HELD_BACK = 2 * HOUR_SHARE
SLICES = 12  # ingest transactions of the hour; 5-minute arrivals of the simulation
END = datetime.fromisoformat("2026-01-26T00:00:00+00:00")


@dataclass
class RunTimes:
    name: str
    seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    mode: str = ""
    arrived: int = 0
    published_at: float = 0.0  # time.monotonic() when the publish step ended
    slowest: list[dict[str, Any]] = field(default_factory=list)  # dbt's slowest nodes

    def line(self) -> str:
        steps = "  ".join(f"{step} {self.seconds.get(step, 0):6.1f}" for step in STEPS)
        return f"  {self.name:<14} {self.mode:<11} {self.wall:7.1f} s   {steps}"


def world(base_events: int, days: int, seed: int, topic: str) -> tuple[list, list, list, list]:
    """(history, one world's hour, hour, simulation) rows of one copy of the world, in stream
    order."""
    started = time.perf_counter()
    config = GeneratorConfig(
        seed=seed,
        events=round(base_events * (1 + HELD_BACK) / 0.95),
        days=days,
        end=END,
        invalid_share=0.0,
        duplicate_share=0.0,
    )
    values = [m.value for m in generate(config) if m.kind == "valid" and m.value]
    values = values[: round(base_events * (1 + HELD_BACK))]
    rows = decode_rows(values, topic)
    hour_rows = round(len(rows) * HOUR_SHARE / (1 + HELD_BACK))
    history, held = rows[: -3 * hour_rows], rows[-3 * hour_rows :]
    one_world_hour, hour, simulation = (held[i * hour_rows : (i + 1) * hour_rows] for i in range(3))
    print(
        f"world: {len(rows):,} events over {days} days generated and decoded in "
        f"{time.perf_counter() - started:.0f} s; history {len(history):,}, hour {len(hour):,}"
    )
    return history, one_world_hour, hour, simulation


def _clone_expression(column: str) -> sql.Composable:
    """The column of copy j of the world: other event, community, brand and member ids."""
    col = sql.Identifier(column)
    if column == "event_id":
        return sql.SQL("case when j = 0 then {c} else md5({c}::text || ':' || j)::uuid end").format(
            c=col
        )
    if column == "community_id":
        return sql.SQL("case when j = 0 then {c} else {c} || ':c' || j end").format(c=col)
    if column in ("member_key", "member_ref"):
        return sql.SQL(
            "case when j = 0 or {c} is null then {c} "
            "else encode(sha256(convert_to({c} || ':' || j, 'UTF8')), 'hex') end"
        ).format(c=col)
    if column == "payload":
        return sql.SQL(
            "case when j > 0 and event_type = 'community.upserted' then jsonb_set({c}, "
            "'{{brand_id}}', to_jsonb(({c} ->> 'brand_id') || ':c' || j)) else {c} end"
        ).format(c=col)
    return col


def stage(dsn: str, name: str, rows: list[tuple]) -> None:
    """One copy of the world's rows in an unlogged table, with their stream position."""
    columns = [*EVENT_COLUMNS, "position"]
    with psycopg.connect(dsn) as conn:
        conn.execute(
            sql.SQL(
                "create unlogged table {} (like raw.community_events including defaults, "
                "position bigint)"
            ).format(sql.Identifier(name))
        )
        copy = sql.SQL("copy {} ({}) from stdin").format(
            sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with conn.cursor().copy(copy) as writer:
            for position, row in enumerate(rows):
                writer.write_row((*row, position))


def insert_copies(dsn: str, table: str, copies: int, first: int, last: int) -> float:
    """Insert positions [first, last) of every copy into raw, one transaction (the consumer's
    insert ... on conflict do nothing); returns the seconds it took."""
    columns = sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
    expressions = sql.SQL(", ").join(_clone_expression(c) for c in EVENT_COLUMNS)
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute(
            sql.SQL(
                "insert into raw.community_events ({}) select {} from {} "
                "cross join generate_series(0, %s) as j where position >= %s and position < %s "
                "on conflict (event_id) do nothing"
            ).format(columns, expressions, sql.Identifier(table)),
            [copies - 1, first, last],
        )
    return time.perf_counter() - started


def run_steps(
    settings: Settings,
    name: str,
    interval: tuple[datetime, datetime],
    *,
    full: bool = False,
    show_nodes: bool = True,
) -> RunTimes:
    """One run of the pipeline's steps, in the DAG's order."""
    times = RunTimes(name)
    started = time.perf_counter()
    run = orchestration.start_run(
        settings,
        dag_id=orchestration.DAG_ID,
        run_id=f"bench__{name}_{uuid.uuid4().hex[:6]}",
        interval_start=interval[0],
        interval_end=interval[1],
        full_refresh=full,
    )
    orchestration.ingest_freshness(settings, run, waited_s=0.0)
    try:
        orchestration.raw_gate(settings, run)
    except GateFailed as failed:  # say what, then stop: a bench on data that fails is no bench
        print("\n".join(failed.result.summary_lines()), flush=True)
        raise
    build = orchestration.dbt_build(settings, run)["build_schema"]
    orchestration.marts_gate(settings, run, build)
    orchestration.promote_build(settings, run, build)
    orchestration.publish(settings, run, build)
    times.published_at = time.monotonic()
    times.wall = time.perf_counter() - started
    assert settings.pg_dsn is not None
    with psycopg.connect(settings.pg_dsn.get_secret_value()) as conn:
        row = conn.execute(
            "select step_seconds, build_mode, raw_events_arrived, "
            "details -> 'dbt' -> 'slowest' from quality.pipeline_runs "
            "where pipeline_run_id = %s",
            [run.pipeline_run_id],
        ).fetchone()
    assert row is not None
    times.seconds, times.mode, times.arrived = row[0], row[1], row[2] or 0
    times.slowest = row[3] or []
    print(times.line(), f"  ({times.arrived:,} rows read)", flush=True)
    if show_nodes:
        nodes = ", ".join(
            f"{node['node'].rsplit('.', 1)[-1]} {node['seconds']:.1f}" for node in times.slowest
        )
        print(f"    slowest dbt nodes: {nodes}", flush=True)
    return times


def hour_of(rows: list[tuple]) -> tuple[datetime, datetime]:
    """The hour most of these rows occurred in (late ones aside)."""
    index = EVENT_COLUMNS.index("occurred_at")
    middle = sorted(row[index] for row in rows)[len(rows) // 2]
    start = middle.replace(minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=1)


def simulate_schedule(
    settings: Settings, dsn: str, copies: int, rows: list[tuple], period_min: float = 5.0
) -> dict[str, Any]:
    """The 5-minute schedule on a bench clock (see the module doc)."""
    n = len(rows)
    # The first interval starts where the simulated stream does (on a 5-minute boundary), so
    # each run's data interval holds the events that arrive during it, as on a live stream.
    index = EVENT_COLUMNS.index("occurred_at")
    # (the median of the first 1%: late events carry a time of days ago)
    opening = sorted(row[index] for row in rows[: max(n // 100, 1)])
    first = opening[len(opening) // 2]
    interval_start = first.replace(
        minute=first.minute - first.minute % int(period_min), second=0, microsecond=0
    )
    # Event i of the hour arrives at bench minute 60 * i / n (stream order, evenly spread).
    arrival_min = [60.0 * i / n for i in range(n)]
    loaded, clock_min, tick = 0, 0.0, period_min
    latencies: list[float] = []
    durations: list[float] = []
    while loaded < n:
        clock_min = max(clock_min, tick)
        arrived = next((i for i in range(loaded, n) if arrival_min[i] > clock_min), n)
        if arrived > loaded:
            insert_copies(dsn, "bench_simulation", copies, loaded, arrived)
        start = interval_start + timedelta(minutes=tick - period_min)
        times = run_steps(
            settings,
            f"5min@{clock_min:04.1f}",
            (start, start + timedelta(minutes=period_min)),
            show_nodes=False,
        )
        durations.append(times.wall)
        published_min = clock_min + times.wall / 60
        latencies += [published_min - arrival_min[i] for i in range(loaded, arrived)]
        loaded, clock_min = arrived, published_min
        tick += period_min
    latencies.sort()
    return {
        "runs": len(durations),
        "run_seconds_mean": round(statistics.mean(durations), 1),
        "run_seconds_max": round(max(durations), 1),
        "keeps_up": max(durations) < period_min * 60,
        "latency_median_min": round(statistics.median(latencies), 2),
        "latency_p95_min": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
        "latency_max_min": round(latencies[-1], 2),
        "events": len(latencies) * copies,
    }


def one_size(
    args: argparse.Namespace, stack: LocalStack, copies: int, parts: tuple[list, list, list, list]
) -> dict[str, Any]:
    history, one_world_hour, hour, simulation = parts
    info = stack.require_info()
    result: dict[str, Any] = {"history_events": len(history) * copies}
    print(f"\n== history {len(history) * copies:,} events ({copies} x the world)", flush=True)
    with bench_warehouse(info.pg_dsn, "pulse-bench-scale-") as warehouse:
        dsn = warehouse.dsn
        ensure_pipeline_tables(dsn)
        suffix = uuid.uuid4().hex[:8]
        settings = Settings(
            kafka_bootstrap=info.kafka_bootstrap,
            pg_dsn=dsn,
            pseudonym_key=BENCH_KEY,
            state_dir=warehouse.workdir / ".pulse",
            gx_project_dir=copy_project(warehouse.workdir / "gx"),
            events_topic=f"bench.events.{suffix}",
            dlq_topic=f"bench.dlq.{suffix}",
            metrics_topic=f"bench.metrics.{suffix}",
            alerts_topic=f"bench.alerts.{suffix}",
            consumer_group=f"bench-{suffix}",
        )
        ensure_topics(info.kafka_bootstrap, pipeline_topics(settings))
        for name, rows in (
            ("bench_history", history),
            ("bench_hour", hour),
            ("bench_one_world_hour", one_world_hour),
            ("bench_simulation", simulation),
        ):
            stage(dsn, name, rows)
        started = time.perf_counter()
        for copy in range(copies):  # one transaction per copy of the world
            _insert_one_copy(dsn, copy, len(history))
        with psycopg.connect(dsn, autocommit=True) as conn:
            # Staged copies hold member keys too: erasure must be able to reach them (it refuses
            # to leave a table behind), and the history's is not needed any more.
            conn.execute("drop table bench_history")
            conn.execute(
                "grant all on bench_hour, bench_one_world_hour, bench_simulation to pulse_owner"
            )
            conn.execute("vacuum analyze raw.community_events")
        result["history_load_s"] = round(time.perf_counter() - started, 1)
        print(f"history loaded in {result['history_load_s']:.0f} s", flush=True)

        full = run_steps(settings, "full build", hour_of(history[-len(hour) :]))
        load_s = arrive(dsn, "bench_hour", copies, len(hour))
        hourly = run_steps(settings, "hourly run", hour_of(hour))
        arrive(dsn, "bench_one_world_hour", 1, len(one_world_hour))
        # No arrival margin: the hour arrived moments ago, and with the margin (5 real minutes,
        # for ingest transactions that commit late) this run would read it all again, as a run
        # of a real hourly schedule would not. Here nothing commits late: the inserts are done.
        one_world = run_steps(
            settings.model_copy(
                update={"gate_volume_band_low": 0.01, "pipeline_arrival_margin_s": 0.0}
            ),
            "1x world hour",
            hour_of(one_world_hour),
        )
        result.update(
            full_s=round(full.wall, 1),
            full_dbt_s=round(full.seconds.get("dbt_build", 0), 1),
            hourly_s=round(hourly.wall, 1),
            hourly_dbt_s=round(hourly.seconds.get("dbt_build", 0), 1),
            ratio=round(hourly.wall / full.wall, 3),
            hour_events=len(hour) * copies,
            hour_load_s=round(load_s, 2),
            hourly_rows_read=hourly.arrived,
            full_steps=full.seconds,
            hourly_steps=hourly.seconds,
            hourly_slowest_nodes=hourly.slowest,
            one_world_hour_s=round(one_world.wall, 1),
            one_world_hour_dbt_s=round(one_world.seconds.get("dbt_build", 0), 1),
            one_world_hour_events=len(one_world_hour),
            one_world_hour_slowest_nodes=one_world.slowest,
        )
        if args.latency_all or copies == max(args.sizes):
            result["five_minute"] = simulate_schedule(settings, dsn, copies, simulation)
            print(f"5-minute schedule: {result['five_minute']}", flush=True)
    return result


def arrive(dsn: str, table: str, copies: int, rows: int) -> float:
    """`copies` copies of a staged hour arrive in 12 transactions, as consumer batches do; the
    seconds the inserts took."""
    load_s = 0.0
    for part in range(SLICES):
        first, last = part * rows // SLICES, (part + 1) * rows // SLICES
        load_s += insert_copies(dsn, table, copies, first, last)
    return load_s


def _insert_one_copy(dsn: str, copy: int, rows: int) -> None:
    """Copy `copy` of the history into raw, one transaction. The history arrived over the past
    days (ingested_at two days ago and earlier), as it would have, long before the margin."""
    columns = sql.SQL(", ").join(map(sql.Identifier, [*EVENT_COLUMNS, "ingested_at"]))
    expressions = sql.SQL(", ").join(_clone_expression(c) for c in EVENT_COLUMNS)
    with psycopg.connect(dsn) as conn:
        conn.execute(
            sql.SQL(
                "insert into raw.community_events ({}) select {}, "
                "now() - interval '2 days' + j * interval '1 minute' from bench_history "
                "cross join (select %s::integer as j) as copy where position < %s"
            ).format(columns, expressions),
            [copy, rows],
        )


def _size(events: int) -> str:
    return f"{events / 1e6:.0f}M" if events >= 1e6 else f"{events / 1e3:.0f}k"


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        "\n| history | full build | hourly run | hourly / full | dbt full | dbt hourly "
        "| hour loaded | one world's hour |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {_size(r['history_events'])} | {r['full_s']:.0f} s | {r['hourly_s']:.1f} s | "
            f"{r['ratio']:.1%} | {r['full_dbt_s']:.0f} s | {r['hourly_dbt_s']:.1f} s | "
            f"{r['hour_events']:,} events in {r['hour_load_s']:.2f} s | "
            f"{r['one_world_hour_s']:.1f} s ({r['one_world_hour_events']:,} events) |"
        )
    for r in results:
        if "five_minute" in r:
            f = r["five_minute"]
            print(
                f"\n5-minute schedule at {_size(r['history_events'])}: {f['runs']} runs, "
                f"{f['run_seconds_mean']} s each on average (max {f['run_seconds_max']} s, "
                f"keeps up: {f['keeps_up']}); event-to-published-metric latency median "
                f"{f['latency_median_min']} min, p95 {f['latency_p95_min']} min, "
                f"max {f['latency_max_min']} min"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 3, 10], help="x base-events")
    parser.add_argument("--base-events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=42, help="span of the world's traffic")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency-all", action="store_true", help="simulate at every size")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    stack = LocalStack(Path(tempfile.mkdtemp(prefix="pulse-bench-scale-stack-")))
    stack.up()
    try:
        parts = world(args.base_events, args.days, args.seed, "bench.events")
        results = [one_size(args, stack, copies, parts) for copies in sorted(args.sizes)]
    finally:
        stack.down(purge=True)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
