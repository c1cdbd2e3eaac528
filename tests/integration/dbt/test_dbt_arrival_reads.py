"""An hourly run reads new arrivals through indexes, never by scanning raw.

raw.community_events gets 40 days of history (300,000 rows, enough that PostgreSQL prefers an
index for a narrow range over reading the table) and an hour of new arrivals. The planner's
plans (EXPLAIN, its default settings, fresh statistics) of every query an incremental run uses
to read raw by arrival must hold no sequential scan of raw.community_events, and must use the
ingested_at index: the raw gate's two queries with the run's arrival window, the run's own row
counts, and dbt's incremental read of raw (base_pulse__events_retained, compiled as an
incremental run compiles it). A plan that scans raw costs what the history costs; these cost
what the hour costs.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pulse.orchestration.dbt import run_dbt
from pulse.orchestration.steps import RAW_COUNTS_QUERY
from pulse.quality.raw_suites import (
    GUC_ARRIVED_FROM,
    GUC_ARRIVED_THROUGH,
    GUC_FUTURE_AFTER,
    GUC_HISTORY_INTERVALS,
    GUC_INTERVAL_END,
    GUC_INTERVAL_START,
    RAW_EVENTS_QUERY,
    RAW_VOLUME_QUERY,
)
from pulse.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HISTORY_ROWS = 300_000
NEW_ROWS = 300


def fill_raw(dsn: str) -> dict[str, Any]:
    """40 days of arrivals, then one hour of new ones; returns the run's window and interval."""
    with psycopg.connect(dsn) as conn:
        now = conn.execute("select date_trunc('hour', now())").fetchone()[0]  # type: ignore[index]
        for rows, start, span in (
            (HISTORY_ROWS, now - timedelta(days=40), timedelta(days=40) - timedelta(hours=1)),
            (NEW_ROWS, now - timedelta(hours=1), timedelta(hours=1)),
        ):
            conn.execute(
                "insert into raw.community_events (event_id, event_type, schema_version, "
                "occurred_at, community_id, member_key, platform, payload, source_topic, "
                "source_partition, source_offset, ingested_at) "
                "select gen_random_uuid(), 'reaction.added', 1, "
                "%(start)s + i * %(span)s / %(n)s - interval '2 seconds', "
                "'c' || (i %% 20), encode(sha256(('m' || (i %% 5000))::bytea), 'hex'), "
                '\'discord\', \'{"target_type": "post", "target_id": "p1", '
                '"reaction": "like"}\', \'test.raw\', 0, i, %(start)s + i * %(span)s / %(n)s '
                "from generate_series(0, %(n)s - 1) as i",
                {"start": start, "span": span, "n": rows},
            )
        conn.execute("analyze raw.community_events")
        conn.execute("analyze raw.dead_letter_events")
    return {
        "arrived_from": now - timedelta(hours=1, minutes=5),
        "arrived_through": now,
        "interval_start": now - timedelta(hours=1),
        "interval_end": now,
    }


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += plan_nodes(child)
    return found


def explain(conn: psycopg.Connection, query: str, params: Any = None) -> list[dict[str, Any]]:
    row = conn.execute(f"explain (format json) {query}", params).fetchone()
    assert row is not None
    return plan_nodes(row[0][0]["Plan"])


def raw_reads(nodes: list[dict[str, Any]]) -> tuple[list[str], set[str]]:
    """(how each node that reads raw.community_events reads it, the indexes used)."""
    reads = [
        node["Node Type"]
        for node in nodes
        if node.get("Relation Name") == "community_events" and node.get("Schema", "raw") == "raw"
    ]
    indexes = {node["Index Name"] for node in nodes if "Index Name" in node}
    return reads, indexes


def test_an_hourly_runs_reads_of_new_arrivals_use_indexes_not_scans(
    pg_dsn: str, settings: Settings, tmp_path: Path
) -> None:
    window = fill_raw(pg_dsn)
    session = {
        GUC_INTERVAL_START: window["interval_start"].isoformat(),
        GUC_INTERVAL_END: window["interval_end"].isoformat(),
        GUC_FUTURE_AFTER: (window["arrived_through"] + timedelta(minutes=5)).isoformat(),
        GUC_HISTORY_INTERVALS: "7",
        GUC_ARRIVED_FROM: window["arrived_from"].isoformat(),
        GUC_ARRIVED_THROUGH: window["arrived_through"].isoformat(),
    }

    # dbt's incremental read of raw, compiled as an incremental run compiles it (is_incremental()
    # needs the model's relation: an empty stand-in will do).
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("set role pulse_transform")
        conn.execute("create schema staging")
        conn.execute("create table staging.base_pulse__events_retained ()")
    target = tmp_path / "dbt-target"
    dbt_vars = {
        "arrived_from": window["arrived_from"].isoformat(),
        "arrived_through": window["arrived_through"].isoformat(),
        "deletions_from": 0,
        "deletions_through": 0,
        "base_build": "build_base",
        "marts_schema": "build_next",
    }
    run_dbt(
        ["compile", "--select", "base_pulse__events_retained", "--vars", json.dumps(dbt_vars)],
        pg_dsn,
        settings,
        target_path=target,
    )
    compiled = target.joinpath(
        "compiled",
        "community_pulse",
        "models",
        "staging",
        "pulse",
        "base",
        "base_pulse__events_retained.sql",
    ).read_text()
    assert "ingested_at >=" in compiled, "not compiled as an incremental run"

    queries = {
        "raw gate: events": (RAW_EVENTS_QUERY, None),
        "raw gate: volume": (RAW_VOLUME_QUERY, None),
        "run row counts": (
            RAW_COUNTS_QUERY,
            {
                "start": window["interval_start"],
                "end": window["interval_end"],
                "from": window["arrived_from"],
                "through": window["arrived_through"],
            },
        ),
        "dbt base_pulse__events_retained": (compiled, None),
    }
    with psycopg.connect(pg_dsn) as conn:
        for name, value in session.items():
            conn.execute("select set_config(%s, %s, false)", [name, value])
        for name, (query, params) in queries.items():
            nodes = explain(conn, query, params)
            reads, indexes = raw_reads(nodes)
            assert reads, f"{name}: does not read raw.community_events at all?"
            assert "Seq Scan" not in reads, f"{name} scans raw.community_events: {reads}"
            if name != "raw gate: volume":  # reads by occurred_at too, and by arrival
                assert "community_events_ingested_at_idx" in indexes, (name, indexes)

        # The assertion means something: with these statistics the planner does scan raw for a
        # read that is not bounded by an index (and the window holds a sliver of raw).
        # (A column no index covers: with an index, a fresh visibility map makes it an Index Only
        # Scan, which reads the whole index instead.)
        unbounded = explain(
            conn, "select count(*) from raw.community_events where payload ->> 'reaction' = 'like'"
        )
        assert "Seq Scan" in raw_reads(unbounded)[0]
        row = conn.execute(
            "select count(*) from raw.community_events where ingested_at >= %s",
            [window["arrived_from"]],
        ).fetchone()
        assert row is not None and NEW_ROWS <= row[0] < HISTORY_ROWS / 100
