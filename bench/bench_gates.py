"""Quality gates benchmark: what the raw and marts gates (and the promote step) add to a run.

    python bench/bench_gates.py                   # 1,000,000 events, embedded PostgreSQL
    python bench/bench_gates.py --events 200000 --dsn postgresql://postgres@127.0.0.1:5432/postgres

Events come from `pulse.local.generator` (seeded, 60 days), are decoded by the ingest decoder and
COPYed into raw of a fresh database (Kafka is not involved; bench_ingest.py measures that). Then,
timed separately:
- importing Great Expectations (once per process: a DAG task pays it once per gate task);
- the raw gate on one day (the daily DAG's interval) and on the whole span (every raw row in
  one interval: the worst case);
- dbt build of the marts into a build schema (for scale: what the gates are added to);
- the marts gate on that build, and the promote step.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
from _warehouse import add_common_arguments, bench_warehouse
from psycopg import sql

from pulse import quality as gates
from pulse.local.generator import GeneratorConfig, generate
from pulse.orchestration.dbt import run_dbt
from pulse.publishing.promote import build_schema_name, promote
from pulse.quality.gx import import_gx
from pulse.settings import Settings
from streaming.decode import EVENT_COLUMNS, Decoder, EventRow
from streaming.privacy import Pseudonymizer

TOPIC = "community.events.v1"
BENCH_KEY = "bench-pseudonym-key-not-secret"


def _rows(config: GeneratorConfig, limit: int) -> Iterator[tuple[object, ...]]:
    decoder = Decoder(Pseudonymizer(BENCH_KEY), timedelta(minutes=5))
    stored = 0
    for offset, message in enumerate(generate(config)):
        if message.kind != "valid" or stored >= limit:
            continue
        decoded = decoder.decode(TOPIC, 0, offset, None, message.value)
        if isinstance(decoded, EventRow):
            stored += 1
            yield decoded.copy_row(TOPIC)


def load(dsn: str, config: GeneratorConfig, limit: int) -> int:
    columns = sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
    copy = sql.SQL("copy raw.community_events ({}) from stdin").format(columns)
    with psycopg.connect(dsn) as conn:
        with conn.cursor().copy(copy) as writer:
            for row in _rows(config, limit):
                writer.write_row(row)
        conn.execute("analyze raw.community_events")
        row = conn.execute("select count(*) from raw.community_events").fetchone()
    return int(row[0]) if row else 0


def timed(label: str, results: list[tuple[str, float, str]], func, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = func(*args, **kwargs)
    elapsed = time.perf_counter() - started
    detail = ""
    if isinstance(value, gates.GateResult):
        detail = value.headline()
    results.append((label, elapsed, detail))
    print(f"  {label:<44} {elapsed:7.1f} s  {detail}", flush=True)
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, "raw events")
    parser.add_argument("--skip-dbt", action="store_true", help="time the raw gate only")
    args = parser.parse_args()

    results: list[tuple[str, float, str]] = []
    with bench_warehouse(args.dsn, "pulse-bench-gates-", keep=args.keep) as warehouse:
        dsn, workdir = warehouse.dsn, warehouse.workdir
        settings = Settings(pg_dsn=dsn, pseudonym_key=BENCH_KEY, state_dir=workdir / ".pulse")
        project = gates.copy_project(workdir / "gx-project")
        gate_settings = gates.GateSettings.from_settings(Settings(gx_project_dir=project))

        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        config = GeneratorConfig(
            seed=args.seed,
            # The generator meets its count within 10%: ask for more, keep what is needed.
            events=round(args.events / 0.9),
            days=args.days,
            end=end,
            invalid_share=0.0,
            duplicate_share=0.0,
        )
        started = time.perf_counter()
        stored = load(dsn, config, args.events)
        print(f"loaded {stored:,} raw events in {time.perf_counter() - started:.1f} s")

        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "select date_trunc('day', max(occurred_at)) from raw.community_events"
            ).fetchone()
        # The last complete day of the loaded events: what a daily run validates.
        last_day = row[0] - timedelta(days=1) if row and row[0] else end - timedelta(days=1)
        day = (last_day, last_day + timedelta(days=1))

        print("timings:")
        timed("import great_expectations (once per process)", results, import_gx)
        whole = (end - timedelta(days=args.days), end)
        for label, (start, stop) in (
            ("raw gate, one day", day),
            ("raw gate, one day (again, warm cache)", day),
            (f"raw gate, all {args.days} days in one interval", whole),
        ):
            timed(
                label,
                results,
                gates.run_raw_gate,
                dsn,
                run_id=f"bench__{uuid.uuid4().hex[:6]}",
                interval_start=start,
                interval_end=stop,
                gate_settings=gate_settings,
            )
        if not args.skip_dbt:
            run_id = "bench__marts"
            build = build_schema_name(run_id)
            timed(
                "dbt build into the build schema (no unit tests)",
                results,
                run_dbt,
                [
                    "build",
                    "--exclude-resource-type",
                    "unit_test",
                    "--vars",
                    f'{{"marts_schema": "{build}"}}',
                ],
                dsn,
                settings,
                target_path=workdir / "dbt-target",
            )
            marts = timed(
                "marts gate",
                results,
                gates.run_marts_gate,
                dsn,
                run_id=run_id,
                build_schema=build,
                gate_settings=gate_settings,
            )
            if marts.success:
                timed(
                    "promote (views switch + retention)",
                    results,
                    promote,
                    dsn,
                    run_id=run_id,
                    build_schema=build,
                )
            else:
                print("\n".join(marts.summary_lines()))
        with psycopg.connect(dsn) as conn:
            interval_rows = conn.execute(
                "select count(*) from raw.community_events where occurred_at >= %s "
                "and occurred_at < %s",
                list(day),
            ).fetchone()
        in_day = interval_rows[0] if interval_rows else 0
        print(f"\nraw events: {stored:,}; one day's interval: {in_day:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
