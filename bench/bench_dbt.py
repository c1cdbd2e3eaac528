"""dbt build benchmark: a full build over N raw events, then an incremental one after 1% more.

    python bench/bench_dbt.py                 # 1,000,000 events, embedded PostgreSQL
    python bench/bench_dbt.py --events 200000 --dsn postgresql://postgres@127.0.0.1:5432/postgres

Events come from `pulse.local.generator` (seeded, realistic shape), in stream order: the first
N valid events are the initial load and the following ~1% the increment, so the increment holds
new days and the generator's late events (up to two days old) like real traffic. Rows are made by
the ingest decoder (pseudonymised, sentiment from text) and written with COPY, as the consumer
writes them, into a fresh database; Kafka is not involved (bench_ingest.py measures that part).

Timed: `dbt build --full-refresh` (models, data tests and unit tests) on the N events, then,
after loading the increment, `dbt build`. Each build's slowest nodes come from run_results.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import psycopg
from _warehouse import BENCH_KEY, add_common_arguments, bench_warehouse, load_raw
from psycopg import sql

from pulse.local.generator import GeneratorConfig, generate
from pulse.orchestration.dbt import run_dbt
from pulse.settings import Settings

TOPIC = "community.events.v1"
INCREMENT_SHARE = 0.01


def count(dsn: str, table: str) -> int:
    schema, name = table.split(".")
    with psycopg.connect(dsn) as conn:
        query = sql.SQL("select count(*) from {}").format(sql.Identifier(schema, name))
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def slowest_nodes(target: Path, count: int = 6) -> list[tuple[str, float]]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    timed = [(r["unique_id"].split(".", 2)[-1], float(r["execution_time"])) for r in results]
    return sorted(timed, key=lambda item: item[1], reverse=True)[:count]


def timed_build(args: list[str], dsn: str, settings: Settings, target: Path) -> float:
    started = time.perf_counter()
    run_dbt(args, dsn, settings, target_path=target)
    elapsed = time.perf_counter() - started
    print(f"  {' '.join(args):<26} {elapsed:7.1f} s")
    for name, seconds in slowest_nodes(target):
        print(f"      {seconds:6.1f} s  {name}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, "initial raw events")
    args = parser.parse_args()

    with bench_warehouse(args.dsn, "pulse-bench-dbt-", keep=args.keep) as warehouse:
        dsn, workdir = warehouse.dsn, warehouse.workdir
        settings = Settings(pg_dsn=dsn, pseudonym_key=BENCH_KEY, state_dir=workdir / ".pulse")

        started = time.perf_counter()
        # The generator meets its event count within 10%: ask for more, keep what is needed.
        wanted = args.events + round(args.events * INCREMENT_SHARE)
        config = GeneratorConfig(
            seed=args.seed,
            events=round(wanted / 0.9),
            days=args.days,
            invalid_share=0.0,
            duplicate_share=0.0,
        )
        values = [m.value for m in generate(config) if m.kind == "valid" and m.value][:wanted]
        split = min(args.events, round(len(values) / (1 + INCREMENT_SHARE)))
        initial, increment = values[:split], values[split:]
        generated = time.perf_counter() - started
        started = time.perf_counter()
        stored = load_raw(dsn, initial, TOPIC)
        loaded = time.perf_counter() - started
        print(
            f"generated {len(values):,} events in {generated:.1f} s; "
            f"loaded {stored:,} into raw in {loaded:.1f} s"
        )

        print("dbt (threads: PULSE_DBT_THREADS, default 2):")
        full = timed_build(["build", "--full-refresh"], dsn, settings, workdir / "full")
        added = load_raw(dsn, increment, TOPIC, split)
        print(f"  + {added:,} new events ({added / max(stored, 1):.2%}) loaded")
        incremental = timed_build(["build"], dsn, settings, workdir / "incremental")

        raw_rows = count(dsn, "raw.community_events")
        daily_rows = count(dsn, "analytics.fct_community_daily")
        print(
            f"\nraw events: {raw_rows:,}; fct_community_daily rows: {daily_rows:,}\n"
            f"full build {full:.1f} s; incremental build after +{added / max(stored, 1):.1%} "
            f"events {incremental:.1f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
