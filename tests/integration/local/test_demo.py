"""`pulse demo` at small scale: every step runs, and the headline figures it prints are what a
query of the marts gives (read here by an independent route: plain rows, arithmetic in Python)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import psycopg
import pytest
from rich.console import Console
from support.pipeline import private_airflow, pulse_environment

from pulse.local.demo import (
    MARTS,
    RETENTION_WEEK,
    rate_ratio_interval,
    read_summary,
    render,
    run_demo,
    wilson,
)
from pulse.settings import Settings


def test_wilson_interval_matches_a_hand_computed_value() -> None:
    # 10 of 100: p=0.1; Wilson 95% is about [0.0552, 0.1744] (standard tables).
    low, high = wilson(10, 100)
    assert math.isclose(low, 0.0552, abs_tol=5e-4) and math.isclose(high, 0.1744, abs_tol=5e-4)


def test_rate_ratio_interval_is_the_marts_conditional_binomial_one() -> None:
    # The lift mart's reference case (tests/unit/test_interval_references.py): 5 of 8 against
    # 4 of 40 gives [1.8180, 21.4861] around 6.25; 0 events on the first side starts at 0.
    low, high = rate_ratio_interval(5, 8, 4, 40)
    assert (round(low, 4), round(high, 4)) == (1.818, 21.4861)
    assert rate_ratio_interval(0, 10, 10, 10)[0] == 0.0


@pytest.mark.slow
def test_demo_summary_matches_a_query_of_the_marts(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_airflow()
    for name, value in pulse_environment(settings).items():
        monkeypatch.setenv(name, value)
    console = Console(record=True, width=120)

    summary = run_demo(
        settings, console, events=6000, days=14, report_path=tmp_path / "report.html"
    )
    render(summary, console)
    text = console.export_text()

    dsn = settings.pg_dsn.get_secret_value()  # type: ignore[union-attr]
    assert summary.report_path is not None and summary.report_path.exists()
    assert read_summary(dsn) == _without_run_facts(summary)
    with psycopg.connect(dsn) as conn:
        assert summary.events_stored == _one(conn, "select count(*) from raw.community_events")
        assert summary.events_stored > 5000
        assert summary.dead_letters == dict(
            conn.execute("select reason, count(*) from raw.dead_letter_events group by 1")
        )
        assert summary.gates.get("failed", 0) == 0 and summary.gates["passed"] > 0
        for mart in MARTS:
            assert summary.mart_rows[mart] == _one(conn, f"select count(*) from marts.{mart}")
            assert summary.mart_rows[mart] > 0, mart

        brand_of = dict(conn.execute("select community_id, brand_id from marts.dim_community"))
        lift_rows = conn.execute(
            "select brand_id, micro_engagements, micro_member_post_opportunities, "
            "broad_engagements, broad_member_post_opportunities "
            "from marts.fct_brand_engagement_lift where not is_suppressed"
        ).fetchall()
        ideas = Counter(
            (brand_of[c], s)
            for c, s in conn.execute(
                "select community_id, current_status from marts.fct_feedback_ideas"
            )
        )
        alerts = Counter(
            t for (t,) in conn.execute("select alert_type from quality.published_alerts")
        )

    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for brand, *figures in lift_rows:
        for i, value in enumerate(figures):
            sums[brand][i] += float(value or 0)
    assert {b.brand_id for b in summary.brands} == set(brand_of.values())
    for headline in summary.brands:
        micro_k, micro_n, broad_k, broad_n = sums[headline.brand_id]
        expected_lift = (micro_k / micro_n) / (broad_k / broad_n)
        assert headline.lift is not None and math.isclose(
            headline.lift, expected_lift, rel_tol=1e-9
        )
        assert headline.lift_low <= headline.lift <= headline.lift_high  # type: ignore[operator]
        assert math.isclose(headline.small_group_share, micro_k / (micro_k + broad_k), rel_tol=1e-9)  # type: ignore[arg-type]
        assert headline.ideas_by_status == {
            s: n for (b, s), n in ideas.items() if b == headline.brand_id
        }
        assert f"{headline.lift:.1f}x" in text
    assert summary.alerts_by_type == dict(alerts)
    assert f"ret wk{RETENTION_WEEK}" in text and "dead letters" in text


def _one(conn: psycopg.Connection, query: str) -> int:
    return conn.execute(query).fetchone()[0]  # type: ignore[index]


def _without_run_facts(summary: object) -> object:
    """The summary as read back from the warehouse alone (no timings, no report path)."""
    from dataclasses import replace

    return replace(summary, report_path=None, step_seconds={})  # type: ignore[type-var]
