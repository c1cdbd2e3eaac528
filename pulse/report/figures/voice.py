"""The brand voice figure: how much of each community the brand writes itself."""

from __future__ import annotations

from collections import defaultdict

from pulse.report import svg as charts
from pulse.report.data import ReportData
from pulse.report.derived import BRAND_VOICE_WINDOW_DAYS
from pulse.report.figures.communities import community_label, community_names
from pulse.report.figures.layout import PANEL_1, Figure, figure
from pulse.report.svg import ALERT_COLOR, BROAD_COLOR, MICRO_COLOR, Bar, LegendItem, Rule


def brand_voice_figure(data: ReportData) -> Figure:
    """Brand voice share per community over the window, against the alert threshold.

    Args:
        data: the report's figures.

    Returns:
        The figure, with the data points it drew.
    """
    names = community_names(data)
    limit = data.thresholds.brand_voice_max
    window = data.brand_voice_window
    alert_days: dict[str, int] = defaultdict(int)
    for alert in data.alerts:
        if alert.alert_type == "brand_voice_too_high" and window and window[0] <= alert.day:
            alert_days[alert.community_id] += alert.day <= window[1]
    bars = []
    for row in data.brand_voice:
        community = names.get(row.community_id)
        over = row.share > limit
        is_broad = community is not None and community.kind == "broad"
        label = community_label(community, row.community_id)
        days = alert_days.get(row.community_id, 0)
        note = f" · {days} alert day{'s' if days != 1 else ''}" if days else ""
        bars.append(
            Bar(
                label,
                row.share,
                ALERT_COLOR if over else (BROAD_COLOR if is_broad else MICRO_COLOR),
                f"{label}: the brand wrote {row.share:.1%} of {row.posts_and_comments:,} posts "
                f"and comments{note}",
                f"{row.share:.0%}{note}",
            )
        )
    chart = charts.hbar_chart(
        bars,
        title="",
        subtitle=(
            f"{charts.day_label(window[0])} \u2013 {charts.day_label(window[1])} "
            f"(last {BRAND_VOICE_WINDOW_DAYS} days)"
            if window
            else ""
        ),
        x_format=charts.percent(0),
        x_label="share of posts and comments written by the brand or its moderators",
        x_domain=(0.0, 1.0),
        threshold=Rule(limit, f"alert threshold {limit:.0%}"),
        width=PANEL_1,
        label_width=250,
    )
    legend = charts.legend(
        [
            LegendItem("micro community", MICRO_COLOR, "bar"),
            LegendItem("broad channel", BROAD_COLOR, "bar"),
            LegendItem("above the threshold over the window", ALERT_COLOR, "bar"),
            LegendItem(f"brand_voice_too_high threshold ({limit:.0%})", ALERT_COLOR, "rule"),
        ]
    )
    return figure(
        "brand_voice",
        "Brand voice share per community",
        "marts.fct_community_daily.brand_voice_share over the window's shown days, each day "
        "weighted by its posts and comments. The publisher raises brand_voice_too_high on a day "
        f"above the dashed line with at least {data.thresholds.min_items} posts and comments; "
        "'alert days' counts those days in the window.",
        [chart],
        legend=legend,
    )
