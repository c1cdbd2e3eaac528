"""The brand voice figures: how much of each community the brand writes itself, and since when.

The bars pool the recent window; the lines pool each week, shaded over the weeks
brand_voice_too_high incidents touched.
"""

from __future__ import annotations

from collections import defaultdict

from pulse.report import svg as charts
from pulse.report.data import Incident, ReportData
from pulse.report.derived import BRAND_VOICE_WINDOW_DAYS, weekly_brand_voice
from pulse.report.figures.communities import (
    brand_label,
    community_label,
    community_names,
    legend_for,
    per_brand_series,
)
from pulse.report.figures.incidents import days_covered, incident_bands
from pulse.report.figures.layout import PANEL_1, Figure, figure, panel_width
from pulse.report.svg import (
    ALERT_COLOR,
    BROAD_COLOR,
    MICRO_COLOR,
    Bar,
    Chart,
    LegendItem,
    day_label,
)

INCIDENT_TYPE = "brand_voice_too_high"
RULE_TEXT = (
    f"A {INCIDENT_TYPE} incident of marts.fct_alert_incidents opens when the brand's share of "
    "posts rises above the community's own baseline by more than its counts make likely by "
    "chance"
)


def brand_voice_figure(data: ReportData) -> Figure:
    """Brand voice share per community over the window, the communities with an incident in red.

    Args:
        data: the report's figures.

    Returns:
        The figure, with the data points it drew.
    """
    names = community_names(data)
    window = data.brand_voice_window
    in_window: dict[str, list[Incident]] = defaultdict(list)
    for incident in data.incidents:
        first, last = days_covered(incident)
        touches = window is not None and first <= window[1] and last >= window[0]
        if incident.alert_type == INCIDENT_TYPE and touches:
            in_window[incident.community_id].append(incident)
    bars = []
    for row in data.brand_voice:
        community = names.get(row.community_id)
        is_broad = community is not None and community.kind == "broad"
        label = community_label(community, row.community_id)
        incidents = sorted(in_window.get(row.community_id, []), key=lambda i: i.opened_at)
        note = f" · {_incident_note(incidents)}" if incidents else ""
        bars.append(
            Bar(
                label,
                row.share,
                ALERT_COLOR if incidents else (BROAD_COLOR if is_broad else MICRO_COLOR),
                f"{label}: the brand wrote {row.share:.1%} of {row.posts_and_comments:,} posts "
                f"and comments{note}",
                f"{row.share:.0%}{note}",
            )
        )
    chart = charts.hbar_chart(
        bars,
        title="",
        subtitle=(
            f"{day_label(window[0])} \u2013 {day_label(window[1])} "
            f"(last {BRAND_VOICE_WINDOW_DAYS} days)"
            if window
            else ""
        ),
        x_format=charts.percent(0),
        x_label="share of posts and comments written by the brand or its moderators",
        x_domain=(0.0, 1.0),
        width=PANEL_1,
        label_width=250,
        description=f"Brand voice share per community over the last {BRAND_VOICE_WINDOW_DAYS} days",
    )
    legend = charts.legend(
        [
            LegendItem("micro community", MICRO_COLOR, "bar"),
            LegendItem("broad channel", BROAD_COLOR, "bar"),
            LegendItem(f"a {INCIDENT_TYPE} incident in the window", ALERT_COLOR, "bar"),
        ]
    )
    return figure(
        "brand_voice",
        "Brand voice share per community",
        "marts.fct_community_daily.brand_voice_share over the window's shown days, each day "
        f"weighted by its posts and comments. {RULE_TEXT}; a red bar names the window of each "
        "incident that touched the last days (the lines below show when).",
        [chart],
        legend=legend,
    )


def brand_voice_over_time_figure(data: ReportData) -> Figure:
    """Weekly brand voice share per community, shaded over the weeks of brand-voice incidents.

    Weeks, not days: a small community's day holds a handful of items, whose share swings
    between 0 and 1 and would hide the incidents' windows.

    Args:
        data: the report's figures.

    Returns:
        The figure, with the data points it drew.
    """
    by_brand = per_brand_series(data, weekly_brand_voice(data.daily), step=7)
    panels: list[tuple[Chart, str]] = [
        (
            charts.line_chart(
                series,
                title=brand_label(brand),
                y_format=charts.percent(0),
                tooltip_format=charts.percent(1),
                y_label="brand voice share",
                x_label="week starting (Monday, UTC)",
                y_domain=(0.0, 1.0),
                bands=incident_bands(data, INCIDENT_TYPE, brand, step=7),
                width=panel_width(len(by_brand)),
                height=260,
                point_radius=2.8,
            ),
            legend_for(series),
        )
        for brand, series in by_brand
    ]
    if not panels:
        panels = [(charts.empty_chart("Brand voice", "no community-day shown"), "")]
    return figure(
        "brand_voice_over_time",
        "Brand voice share per community, by week, with brand-voice incidents",
        "marts.fct_community_daily.brand_voice_share: the share of the week's posts and comments "
        "the brand or its moderators wrote, pooled over its shown days. Shaded: the weeks each "
        f"incident touched. {RULE_TEXT} (it judges posts alone, members' comments left out); "
        "its window runs from the day it opened to the day it resolved, or to the last day seen "
        "while it is open (dashed edge; darker when critical).",
        panels,
        legend=charts.legend([LegendItem(f"{INCIDENT_TYPE} incident window", ALERT_COLOR, "band")]),
        columns=min(3, len(panels)),
    )


def _incident_note(incidents: list[Incident]) -> str:
    """The latest of one bar's incidents, `incident Mar 20 - open`, and how many came before."""
    latest = incidents[-1]
    first, last = days_covered(latest)
    end = "open" if latest.is_open else day_label(last)
    more = f" (+{len(incidents) - 1} earlier)" if len(incidents) > 1 else ""
    return f"incident {day_label(first)} \u2013 {end}{more}"
