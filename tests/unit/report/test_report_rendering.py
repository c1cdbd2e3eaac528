"""The report's pure parts: what it reads, how it draws, which alerts it marks (no database)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from pulse.paths import REPO_ROOT
from pulse.publishing.alerts import AlertThresholds
from pulse.report import COLUMNS_READ, ReportData, ReportSummary, render_report
from pulse.report import svg as charts
from pulse.report.data import (
    Alert,
    BrandVoice,
    Community,
    DailyFigures,
    DeadLetterReason,
    Idea,
    LiftWeek,
    RetentionPoint,
    WeeklyEngagement,
)
from pulse.report.derived import computed_alerts, pooled_brand_voice
from pulse.settings import Settings

MARTS_DIR = REPO_ROOT / "dbt_project" / "models" / "marts"
START = date(2026, 3, 2)  # a Monday


def contract_columns() -> dict[str, set[str]]:
    columns: dict[str, set[str]] = {}
    for path in MARTS_DIR.rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            columns[model["name"]] = {column["name"] for column in model["columns"]}
    return columns


def day(n: int) -> date:
    return START + timedelta(days=n)


def daily(
    community: str, n: int, negative: float = 0.2, items: int = 30, voice: float = 0.1
) -> DailyFigures:
    return DailyFigures(
        community, day(n), items // 3, items - items // 3, 2.0, voice, 0.3, negative
    )


def sample_data(**changes: object) -> ReportData:
    communities = [
        Community("a.micro", "acme", "Acme Runners", "micro", False, 40),
        Community("a.broad", "acme", "Acme Fans", "broad", False, 500),
    ]
    data = ReportData(
        generated_at=datetime(2026, 4, 1, 6, 0, tzinfo=UTC),
        read_as="pulse_bi",
        build="build_x",
        min_group_size=5,
        thresholds=AlertThresholds.from_settings(Settings()),
        communities=communities,
        daily=[daily(c.community_id, n) for c in communities for n in range(14)],
        weekly_engagement=[
            WeeklyEngagement("a.micro", day(0), 0.08),
            WeeklyEngagement("a.micro", day(7), 0.09),
            WeeklyEngagement("a.broad", day(0), 0.012),
            WeeklyEngagement("a.broad", day(7), 0.013),
        ],
        lift=[
            LiftWeek(
                "acme",
                day(7 * w),
                False,
                50,
                120,
                0.08,
                0.07,
                0.09,
                0.013,
                0.011,
                0.015,
                6.1,
                4.6,
                8.2,
                0.3,
            )
            for w in range(2)
        ],
        retention=[
            RetentionPoint(kind, day(0), weeks, 1.0 if weeks == 0 else 0.7, 30)
            for kind in ("micro", "broad")
            for weeks in range(3)
        ],
        brand_voice=[BrandVoice("a.micro", 0.62, 120), BrandVoice("a.broad", 0.1, 900)],
        brand_voice_window=(day(0), day(13)),
        ideas=[
            Idea("a.micro", "accepted", "accepted", 3.0, 50.0),
            Idea("a.micro", "submitted", None, None, None),
            Idea("a.broad", "under_review", None, 30.0, None),
        ],
        alerts=[Alert("a.broad", day(13), "negative_sentiment_spike", "critical")],
        alerts_source="computed here",
        dead_letters=[
            DeadLetterReason(
                "invalid_json", 4, datetime(2026, 3, 2, tzinfo=UTC), datetime.now(UTC), 0
            )
        ],
        events_stored=1000,
        dead_letters_source="raw.dead_letter_events as pulse_transform",
        first_day=day(0),
        last_day=day(13),
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def figures(page: str) -> dict[str, tuple[int, str]]:
    """chart id -> (the figure's declared data points, its markup)."""
    found = re.findall(
        r'<figure class="chart" id="chart-[^"]+" data-chart="([^"]+)" data-points="(\d+)"'
        r"(.*?)</figure>",
        page,
        flags=re.S,
    )
    return {name: (int(points), body) for name, points, body in found}


def test_report_reads_only_columns_the_mart_contracts_define() -> None:
    contracts = contract_columns()
    for mart, columns in COLUMNS_READ.items():
        assert mart in contracts, f"no dbt contract for {mart}"
        assert set(columns) <= contracts[mart], set(columns) - contracts[mart]


def test_every_chart_draws_as_many_points_as_it_declares() -> None:
    page, points, optional = render_report(sample_data())

    found = figures(page)
    assert set(found) == set(points)
    for name, (declared, body) in found.items():
        assert declared == points[name] > 0, name
        assert body.count('class="pt"') == declared, name
    assert optional == ["dead_letters"]


def test_page_is_self_contained_and_forbids_fetching() -> None:
    page, _, _ = render_report(sample_data())

    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and " src=" not in page
    assert "default-src 'none'" in page
    # the error hook comes before anything else runs; the self-check is the last thing
    assert page.index("window.onerror") < page.index("<style>")
    assert page.rindex("<script>") > page.rindex("</figure>")


def test_a_chart_without_data_is_reported_empty_unless_emptiness_is_normal() -> None:
    page, points, optional = render_report(sample_data(ideas=[], dead_letters=[]))

    summary = ReportSummary(Path("r.html"), points, optional_charts=frozenset(optional))
    assert summary.empty_charts == ["feedback_funnel", "feedback_status", "response_times"]
    assert "no dead letters" in page  # no dead letter at all is fine
    assert "without data: feedback_funnel" in summary.describe()


def test_data_from_the_page_is_escaped() -> None:
    hostile = Community("x", "acme", "<script>alert(1)</script>", "micro", False, 9)
    page, _, _ = render_report(
        sample_data(communities=[hostile], brand_voice=[BrandVoice("x", 0.3, 50)])
    )

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)" in page


def test_lines_break_where_a_period_is_suppressed() -> None:
    chart = charts.line_chart(
        [
            charts.Series(
                "c",
                [(day(0), 0.1), (day(1), 0.2), (day(2), None), (day(3), 0.3), (day(4), 0.2)],
                "#000",
            )
        ],
        title="t",
        y_format=charts.percent(0),
        y_label="y",
    )

    assert chart.points == 4
    assert chart.svg.count("<polyline") == 2


def test_interval_bars_leaving_the_axis_are_cut_with_an_arrow_and_exact_tooltips() -> None:
    chart = charts.interval_chart(
        [charts.IntervalSeries("b", [charts.IntervalPoint(day(0), 5.0, 2.0, 40.0)], "#000")],
        title="lift",
        y_format=charts.times,
        y_label="lift",
        y_domain=(0.0, 10.0),
    )

    assert chart.points == 1
    assert "<path" in chart.svg  # the open arrow at the top
    assert "40.0\u00d7" in chart.svg  # the tooltip keeps the real upper bound


@pytest.mark.parametrize(("low", "high"), [(0, 1), (0, 0.083), (-0.7, 0.6), (0, 12.7), (3, 3)])
def test_nice_ticks_cover_the_range_with_round_steps(low: float, high: float) -> None:
    ticks = charts.nice_ticks(low, high)

    assert ticks[0] <= low and ticks[-1] >= high
    steps = {round(b - a, 9) for a, b in pairwise(ticks)}
    assert len(steps) == 1 and 2 <= len(ticks) <= 8


def test_negative_spikes_follow_the_publishers_rule() -> None:
    days = [daily("c", n, negative=0.15) for n in range(10)]
    days.append(daily("c", 10, negative=0.7))  # a spike
    days.append(daily("c", 11, negative=0.7, items=6))  # too few posts and comments to judge
    days.append(daily("quiet", 10, negative=0.9))  # no history: no baseline

    alerts = computed_alerts(days, AlertThresholds.from_settings(Settings()))

    spikes = [a for a in alerts if a.alert_type == "negative_sentiment_spike"]
    assert [(a.community_id, a.day) for a in spikes] == [("c", day(10))]
    assert spikes[0].severity == "critical"


def test_brand_voice_pools_days_by_their_posts_and_comments() -> None:
    days = [
        daily("c", 0, voice=1.0, items=10),
        daily("c", 1, voice=0.0, items=30),
        daily("c", 20, voice=1.0, items=100),  # outside the window
    ]

    pooled = pooled_brand_voice(days, (day(0), day(13)))

    assert pooled == [BrandVoice("c", 0.25, 40)]
