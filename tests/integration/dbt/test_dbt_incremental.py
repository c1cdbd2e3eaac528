"""Incremental runs equal a full refresh, row for row, whatever happened in between.

Generated events (late deliveries, re-votes, erasures in the last days) arrive in chunks, in
stream order, each chunk in several ingest transactions. Each chunk is followed by a run of the
pipeline's own steps (raw gate, dbt build, marts gate, promote): the first one full, the others
incremental. One run in the middle has a defect planted in its build, so its marts gate fails
after it advanced the shared staging and intermediate tables; an explicit erasure of a very
active member arrives after that. At the end a full refresh is built from the same raw, and
every mart of the last incremental build (`pulse.warehouse.names.MARTS`) must equal it.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from support.warehouse import load_raw, pseudonym_key_of

from pulse import orchestration
from pulse.local.generator import GeneratorConfig, generate
from pulse.orchestration.build_plan import plan_build
from pulse.publishing.promote import live_build
from pulse.quality import GateFailed, copy_project
from pulse.settings import Settings
from pulse.warehouse.init import ensure_pipeline_tables
from pulse.warehouse.names import MARTS
from streaming.privacy import Pseudonymizer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INTERVAL = (datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 26, tzinfo=UTC))
# Small, so that consecutive runs read different rows (loads and runs are seconds apart here).
MARGIN_S = 0.5


# -- helpers ------------------------------------------------------------------------------------


def marts_of(dsn: str, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every mart's rows in a build, in a stable order."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(dsn) as conn:
        for mart in MARTS:
            relation = sql.Identifier(schema, mart)
            width = len(
                conn.execute(sql.SQL("select * from {} limit 0").format(relation)).description
            )
            order = sql.SQL(", ").join(sql.Literal(i) for i in range(1, width + 1))
            found[mart] = conn.execute(
                sql.SQL("select * from {} order by {}").format(relation, order)
            ).fetchall()
    return found


def differences(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> dict[str, list[Any]]:
    """Per mart that differs: a few rows only one side has."""
    return {
        mart: sorted(set(a[mart]) ^ set(b[mart]), key=repr)[:4]
        for mart in MARTS
        if a[mart] != b[mart]
    }


def tables_holding(dsn: str, needle: str) -> dict[str, int]:
    found = {}
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' "
            "and table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            count = conn.execute(
                sql.SQL("select count(*) from {} as t where strpos(t::text, %s) > 0").format(
                    sql.Identifier(schema, table)
                ),
                [needle],
            ).fetchone()[0]  # type: ignore[index]
            if count:
                found[f"{schema}.{table}"] = count
    return found


def load_in_batches(dsn: str, values: list[bytes], settings: Settings, first: int) -> int:
    """As the consumer loads: several transactions, each with its own ingested_at."""
    size = max(1, len(values) // 3)
    for start in range(0, len(values), size):
        load_raw(dsn, values[start : start + size], settings, first_offset=first + start)
    return first + len(values)


def plant_rate_above_one(dsn: str, build: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("set role pulse_transform")
        daily = sql.Identifier(build, "fct_community_daily")
        updated = conn.execute(
            sql.SQL(
                "update {} set stickiness = 1.5 where ctid = "
                "(select ctid from {} where not is_suppressed limit 1)"
            ).format(daily, daily)
        ).rowcount
    assert updated == 1


class Runs:
    """The pipeline's own steps in the DAG's order (raw gate, dbt build, marts gate, promote)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.count = 0

    def start(self, *, full_refresh: bool = False) -> orchestration.RunContext:
        # What was loaded just before is older than the margin when the run's window ends, so
        # the next run's window (from this one's end minus the margin) starts after it.
        time.sleep(MARGIN_S * 2)
        self.count += 1
        return orchestration.start_run(
            self.settings,
            dag_id=orchestration.DAG_ID,
            run_id=f"manual__incremental_{self.count}",
            interval_start=INTERVAL[0],
            interval_end=INTERVAL[1],
            full_refresh=full_refresh,
        )

    def build(self, run: orchestration.RunContext) -> str:
        orchestration.raw_gate(self.settings, run)
        return orchestration.dbt_build(self.settings, run)["build_schema"]

    def finish(self, run: orchestration.RunContext, build: str) -> str:
        orchestration.marts_gate(self.settings, run, build)
        orchestration.promote_build(self.settings, run, build)
        return build

    def __call__(self, *, full_refresh: bool = False) -> tuple[str, dict[str, Any]]:
        run = self.start(full_refresh=full_refresh)
        build = self.finish(run, self.build(run))
        return build, self.recorded(run)

    def recorded(self, run: orchestration.RunContext) -> dict[str, Any]:
        assert self.settings.pg_dsn is not None
        with psycopg.connect(self.settings.pg_dsn.get_secret_value()) as conn:
            cursor = conn.execute(
                "select build_mode, base_build, arrived_from, arrived_through, "
                "raw_events_arrived, build_schema from quality.pipeline_runs "
                "where pipeline_run_id = %s",
                [run.pipeline_run_id],
            )
            names = [column.name for column in cursor.description or []]
            row = cursor.fetchone()
        assert row is not None
        return dict(zip(names, row, strict=True))


def generated_values(settings: Settings) -> tuple[list[bytes], bytes, str]:
    """The valid events of a seeded stream (stream order: late events among newer ones), an
    erasure request for its most active member, and that member's key."""
    config = GeneratorConfig(seed=20_260_126, events=6_000, days=21, end=INTERVAL[1])
    values = [m.value for m in generate(config) if m.kind == "valid" and m.value]
    events = [json.loads(value) for value in values]
    erased_by_generator = {e["member_id"] for e in events if e["event_type"] == "member.erased"}
    active = Counter(
        (e.get("platform"), e["member_id"], e["community_id"])
        for e in events
        if e.get("member_id") and e["member_id"] not in erased_by_generator
    )
    (platform, member_id, community), _ = active.most_common(1)[0]
    request = {
        "event_id": str(uuid.uuid4()),
        "event_type": "member.erased",
        "schema_version": 1,
        "occurred_at": (INTERVAL[1] - timedelta(hours=6)).isoformat(),
        "community_id": community,
        "member_id": member_id,
        "payload": {},
    }
    if platform:
        request["platform"] = platform
    key = Pseudonymizer(pseudonym_key_of(settings)).member_key(platform, member_id)
    return values, json.dumps(request).encode(), key


def chunks(values: list[bytes], shares: Iterable[float]) -> list[list[bytes]]:
    cuts = [0]
    for share in shares:
        cuts.append(min(len(values), cuts[-1] + round(len(values) * share)))
    cuts.append(len(values))
    return [values[a:b] for a, b in itertools.pairwise(cuts)]


# -- the sequence -------------------------------------------------------------------------------


def test_incremental_runs_with_a_failed_gate_and_erasures_equal_a_full_refresh(
    pg_dsn: str, settings: Settings, tmp_path: Path
) -> None:
    ensure_pipeline_tables(pg_dsn)
    settings = settings.model_copy(
        update={
            "gx_project_dir": copy_project(tmp_path / "gx"),
            "pipeline_arrival_margin_s": MARGIN_S,
        }
    )
    runs = Runs(settings)
    values, erasure, erased_key = generated_values(settings)
    first, second, third, fourth, fifth = chunks(values, (0.6, 0.1, 0.1, 0.1))
    loaded = load_in_batches(pg_dsn, first, settings, 0)

    # 1. Nothing promoted yet: a full build.
    build_1, run_1 = runs()
    assert run_1["build_mode"] == "full" and run_1["arrived_from"] is None

    # 2. Late events and re-votes arrive: incremental, from build 1.
    loaded = load_in_batches(pg_dsn, second, settings, loaded)
    build_2, run_2 = runs()
    assert run_2["build_mode"] == "incremental" and run_2["base_build"] == build_1
    assert run_2["arrived_from"] == run_1["arrived_through"] - timedelta(seconds=MARGIN_S)
    assert 0 < run_2["raw_events_arrived"] < len(first)

    # 3. The build advances the shared tables, then its marts gate fails: marts stays on build 2.
    loaded = load_in_batches(pg_dsn, third, settings, loaded)
    failing = runs.start()
    build_3 = runs.build(failing)
    plant_rate_above_one(pg_dsn, build_3)
    with pytest.raises(GateFailed):
        runs.finish(failing, build_3)
    assert live_build(pg_dsn) == build_2

    # 4. An erasure of the most active member arrives with more events. The run starts from
    # build 2 again (build 3 was never promoted), so it reads run 3's arrivals once more.
    assert tables_holding(pg_dsn, erased_key)
    loaded = load_in_batches(pg_dsn, [*fourth, erasure], settings, loaded)
    build_4, run_4 = runs()
    assert run_4["build_mode"] == "incremental" and run_4["base_build"] == build_2
    assert run_4["arrived_from"] == run_2["arrived_through"] - timedelta(seconds=MARGIN_S)
    # Erasure stays immediate: after the run no row anywhere carries the key.
    assert tables_holding(pg_dsn, erased_key) == {}

    # 5. The rest, then a run with nothing new: the same marts again.
    load_in_batches(pg_dsn, fifth, settings, loaded)
    build_5, run_5 = runs()
    assert run_5["base_build"] == build_4
    build_6, run_6 = runs()
    assert run_6["build_mode"] == "incremental"
    incremental = marts_of(pg_dsn, build_6)
    assert differences(marts_of(pg_dsn, build_5), incremental) == {}

    # A full refresh over the same raw gives the very same rows, in every mart.
    build_full, run_full = runs(full_refresh=True)
    assert run_full["build_mode"] == "full"
    full = marts_of(pg_dsn, build_full)
    assert all(full[mart] for mart in MARTS), {mart: len(rows) for mart, rows in full.items()}
    assert differences(incremental, full) == {}


def test_a_batch_that_commits_after_a_run_within_the_margin_is_read_by_the_next(
    pg_dsn: str, settings: Settings, tmp_path: Path
) -> None:
    """ingested_at is a batch's transaction start: a batch that started before a run's
    watermark may commit after the run read raw. The next run reads again from the watermark
    minus the margin, so those rows land; and a run's watermark never passes a batch still
    open when it starts."""
    ensure_pipeline_tables(pg_dsn)
    settings = settings.model_copy(
        update={"gx_project_dir": copy_project(tmp_path / "gx"), "pipeline_arrival_margin_s": 60}
    )
    config = GeneratorConfig(seed=3, events=2_000, days=14, end=INTERVAL[1])
    values = [m.value for m in generate(config) if m.kind == "valid" and m.value]
    load_raw(pg_dsn, values[:-200], settings)
    runs = Runs(settings)
    _, run_1 = runs()

    # A batch that began 20 s before run 1's watermark and committed only now.
    late_start = run_1["arrived_through"] - timedelta(seconds=20)
    load_raw(pg_dsn, values[-200:], settings, first_offset=len(values))
    with psycopg.connect(pg_dsn) as conn:
        moved = conn.execute(
            "update raw.community_events set ingested_at = %s where ingested_at > %s",
            [late_start, run_1["arrived_through"]],
        ).rowcount
    assert moved > 0
    build_2, run_2 = runs()
    assert run_2["raw_events_arrived"] >= moved
    full_build, _ = runs(full_refresh=True)
    assert differences(marts_of(pg_dsn, build_2), marts_of(pg_dsn, full_build)) == {}

    # A writing transaction still open when a run plans: the watermark stays before its start.
    with psycopg.connect(pg_dsn) as writer:
        writer.execute("create temp table probe (x int)")  # takes a transaction id
        started = writer.execute("select now()").fetchone()[0]  # type: ignore[index]
        plan = plan_build(pg_dsn, settings)
        assert plan.arrived_through <= started
