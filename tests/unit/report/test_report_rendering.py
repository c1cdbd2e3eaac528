"""The report's pure parts: what it reads, how it draws, which incidents and topics it shows.

No database: the figures are built by hand.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from pulse.paths import REPO_ROOT
from pulse.report import COLUMNS_READ, ReportData, ReportSummary, render_report
from pulse.report import svg as charts
from pulse.report.data import (
    BrandVoice,
    Community,
    DailyFigures,
    DeadLetterReason,
    Idea,
    Incident,
    LiftWeek,
    RetentionPoint,
    TopicWeek,
    WeeklyEngagement,
)
from pulse.report.derived import latest_complete_week, pooled_brand_voice, weekly_brand_voice
from pulse.report.figures.topics import RISING_COLOR, RISING_MARK

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


def at(n: int, hour: int = 0, minute: int = 0) -> datetime:
    """The moment `hour:minute` UTC of day `n`."""
    return datetime.combine(day(n), datetime.min.time(), tzinfo=UTC).replace(
        hour=hour, minute=minute
    )


def incident(
    community: str,
    alert_type: str,
    opened: int,
    last_seen: int,
    resolved: int | None = None,
    *,
    severity: str = "warning",
    observed: float = 0.6,
    baseline: float | None = 0.2,
    metric: str = "negative_share",
    idea_id: str | None = None,
) -> Incident:
    """A day rule's incident: opened at the start of day `opened`, last seen until `last_seen`."""
    return Incident(
        community_id=community,
        brand_id="acme",
        idea_id=idea_id,
        alert_type=alert_type,
        status="open" if resolved is None else "resolved",
        severity=severity,
        resolution=None if resolved is None else "condition_ended",
        metric=metric,
        observed=observed,
        baseline=baseline,
        days_held=last_seen - opened,
        peak_on=day(last_seen - 1),
        opened_at=at(opened),
        last_seen_at=at(last_seen),
        resolved_at=None if resolved is None else at(resolved),
    )


# Acme Fans' sentiment turned on days 11 and 12 and is still sour; the brand wrote most of Acme
# Runners' posts on days 2-4 (resolved after three quiet days); an idea waits since day 9.
SOUR_FANS = incident(
    "a.broad", "negative_sentiment_spike", 11, 13, severity="critical", observed=0.62
)
LOUD_BRAND = incident(
    "a.micro",
    "brand_voice_too_high",
    2,
    5,
    8,
    observed=0.72,
    baseline=0.4,
    metric="brand_post_share",
)
WAITING_IDEA = Incident(
    "a.micro",
    "acme",
    "idea-7",
    "idea_unanswered",
    "open",
    "warning",
    None,
    "hours_unanswered",
    200.5,
    None,
    4,
    day(12),
    at(9, 10, 30),
    at(13),
    None,
)


def topic(
    community: str, week: int, tag: str, posts: int, before: float, *, rising: bool = False
) -> TopicWeek:
    return TopicWeek(
        community, day(7 * week), tag, posts, posts * 3, posts / 40, 3.0, before, rising
    )


# Week 0 is the latest complete one (the data end on a Sunday, which may be in progress).
TOPICS = [
    topic("a.micro", 0, "trail", 12, 11.0),
    topic("a.micro", 0, "gear", 9, 8.5),
    topic("a.micro", 0, "shoes", 8, 8.0),
    topic("a.micro", 0, "races", 7, 7.5),
    topic("a.micro", 0, "food", 6, 6.0),
    topic("a.micro", 0, "ultra-training", 5, 1.0, rising=True),  # rising, below the top 5
    topic("a.broad", 0, "tickets", 30, 28.0),
    topic("a.micro", 1, "heatwave", 20, 1.0, rising=True),  # the week still in progress
]


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
        incidents=[LOUD_BRAND, WAITING_IDEA, SOUR_FANS],
        topics=TOPICS,
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


def test_brand_voice_pools_days_by_their_posts_and_comments() -> None:
    days = [
        daily("c", 0, voice=1.0, items=10),
        daily("c", 1, voice=0.0, items=30),
        daily("c", 20, voice=1.0, items=100),  # outside the window
    ]

    pooled = pooled_brand_voice(days, (day(0), day(13)))

    assert pooled == [BrandVoice("c", 0.25, 40)]


def test_weekly_brand_voice_pools_each_iso_week_by_its_posts_and_comments() -> None:
    days = [
        daily("c", 0, voice=1.0, items=10),  # Monday
        daily("c", 6, voice=0.0, items=30),  # Sunday of the same week
        daily("c", 7, voice=0.5, items=12),  # the next Monday
    ]

    assert weekly_brand_voice(days) == {"c": {day(0): 0.25, day(7): 0.5}}


def drawn_points(svg: str) -> dict[str, float]:
    """Each data point's tooltip -> its x position."""
    return {
        title: float(x)
        for x, title in re.findall(
            r'<circle class="pt" cx="([\d.]+)"[^>]*><title>([^<]*)</title>', svg
        )
    }


def shaded_bands(svg: str) -> list[tuple[str, float, float]]:
    """Each band's tooltip, left and right edge."""
    return [
        (title, float(x), float(x) + float(width))
        for title, x, width in re.findall(
            r'<g class="band"><title>([^<]*)</title><rect x="([\d.]+)" y="[\d.]+" '
            r'width="([\d.]+)"',
            svg,
        )
    ]


def table_rows(html: str, caption: str) -> list[list[str]]:
    """The cells of each body row of the table with `caption`, as text."""
    table = html[html.index(f"<caption>{caption}") :]
    body = table[table.index("<tbody>") : table.index("</tbody>")]
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body)
    ]


def test_an_open_incident_is_tabled_and_its_window_shaded_on_its_chart() -> None:
    page, _, _ = render_report(sample_data())

    rows = table_rows(page, "Open incidents (2)")
    # critical first; a day rule's window is whole UTC days, an idea's wait is a moment
    assert rows == [
        [
            "acme",
            "Acme Fans (broad)",
            "negative_sentiment_spike",
            "critical",
            "2026-03-13",
            "2026-03-14",
            "2",
            "62% vs 20% (3.1\u00d7)",
            "negative share of posts and comments, 2026-03-14",
        ],
        [
            "acme",
            "Acme Runners (micro)",
            "idea_unanswered (idea idea-7)",
            "warning",
            "2026-03-11 10:30",
            "2026-03-14",
            "4",
            "8.4 days",
            "time without a response",
        ],
    ]
    sentiment = figures(page)["sentiment"][1]
    [(label, left, right)] = shaded_bands(sentiment)
    assert label.startswith(
        "negative_sentiment_spike (critical) · Acme Fans (broad) · Mar 13 \u2013 open, "
        "last seen Mar 14"
    )
    assert f"Shaded: {label}" in sentiment  # a screen reader hears it too
    fans = {t.split(": ")[0]: x for t, x in drawn_points(sentiment).items()}
    assert left < fans["Acme Fans (broad) · Mar 13"] < fans["Acme Fans (broad) · Mar 14"] < right
    assert fans["Acme Fans (broad) · Mar 12"] < left and right < fans["Acme Fans (broad) · Mar 15"]
    # every chart shades its own type only
    assert not shaded_bands(figures(page)["engagement_rate"][1])
    [(voice_label, _, _)] = shaded_bands(figures(page)["brand_voice_over_time"][1])
    assert voice_label.startswith("brand_voice_too_high (warning) · Acme Runners (micro)")


def test_resolved_incidents_listed_are_those_resolved_within_the_shown_days() -> None:
    before = incident("a.broad", "engagement_drop", -9, -5, 0, metric="engagements_per_post")
    data = sample_data(incidents=[LOUD_BRAND, WAITING_IDEA, SOUR_FANS, before])

    page, _, _ = render_report(data)

    # resolved at the start of day 8: after the last quiet day, Mar 9
    assert table_rows(page, "Resolved in the period (1)") == [
        [
            "acme",
            "Acme Runners (micro)",
            "brand_voice_too_high",
            "warning",
            "2026-03-04",
            "2026-03-09",
            "condition ended",
            "72% vs 40% (1.8\u00d7)",
            "brand share of posts, 2026-03-06",
        ]
    ]
    # the drop resolved before the period: no window on the chart either
    assert not shaded_bands(figures(page)["engagement_rate"][1])
    assert "1 critical · 1 resolved in the period" in page
    # the bar of the community names the brand-voice incident that touched the window
    assert "62% · incident Mar 4 \u2013 Mar 9" in figures(page)["brand_voice"][1]


def test_a_weekly_chart_shades_the_whole_weeks_an_incident_touched() -> None:
    drop = incident("a.broad", "engagement_drop", 8, 11, metric="engagements_per_post")
    page, _, _ = render_report(sample_data(incidents=[drop]))

    engagement = figures(page)["engagement_rate"][1]
    [(label, left, right)] = shaded_bands(engagement)
    weeks = {t.split(": ")[0]: x for t, x in drawn_points(engagement).items()}
    assert weeks["Acme Fans (broad) · Mar 2"] < left < weeks["Acme Fans (broad) · Mar 9"] < right
    assert "engagement_drop (warning) · Acme Fans (broad) · Mar 10 \u2013 open" in label


def test_topics_show_the_top_and_rising_tags_of_the_latest_complete_week() -> None:
    page, points, _ = render_report(sample_data())

    declared, topics = figures(page)["topics"]
    # Acme Runners' five busiest tags and its rising one beyond them, Acme Fans' one tag
    assert declared == points["topics"] == 7
    assert "week of Mar 2 \u2013 Mar 8" in topics
    assert f'fill="{RISING_COLOR}"><title>ultra-training · Acme Runners (micro): 5 posts' in topics
    assert topics.count(f" {RISING_MARK}</text>") == 1  # marked in words, not colour alone
    assert "Rising: ultra-training" in topics  # in the panel's accessible label
    assert table_rows(page, "Rising topics, week of Mar 2") == [
        ["Acme Runners (micro)", "ultra-training", "5", "1.0", "12%", "3.0"]
    ]
    # the week of Mar 9 ends on the last day with data, which may be in progress
    assert "heatwave" not in page


def test_the_latest_complete_week_ended_before_the_last_day_with_data() -> None:
    assert latest_complete_week(date(2026, 3, 15)) == date(2026, 3, 2)  # a Sunday
    assert latest_complete_week(date(2026, 3, 16)) == date(2026, 3, 9)  # the Monday after
    assert latest_complete_week(None) is None


def test_bands_stay_inside_the_plot_and_an_open_one_ends_dashed() -> None:
    band = charts.Band(day(3), day(30), "open incident", open_end=True)
    chart = charts.line_chart(
        [charts.Series("c", [(day(n), 0.1 * n) for n in range(6)], "#000")],
        title="t",
        y_format=charts.percent(0),
        y_label="y",
        bands=[band, charts.Band(day(20), day(25), "outside the days shown")],
        width=400,
    )

    [(label, left, right)] = shaded_bands(chart.svg)
    xs = sorted(drawn_points(chart.svg).values())
    assert label == "open incident" and xs[2] < left <= xs[3] and right <= 400
    assert 'stroke-dasharray="3 3"' in chart.svg
    assert 'aria-label="t. Shaded: open incident"' in chart.svg
    assert chart.points == 6  # a band is no data point
