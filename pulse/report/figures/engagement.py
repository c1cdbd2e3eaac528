"""Engagement figures: the rate per community, micro vs broad per brand, and the lift.

Each answers the report's first question: do a brand's small groups engage more than its broad
channels, and how sure can we be?
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date

from pulse.report import svg as charts
from pulse.report.data import ReportData
from pulse.report.figures.communities import brand_ids, brand_label, legend_for, per_brand_series
from pulse.report.figures.incidents import incident_bands
from pulse.report.figures.layout import PANEL_1, Figure, figure, panel_width
from pulse.report.svg import (
    ALERT_COLOR,
    BROAD_COLOR,
    MICRO_COLOR,
    PALETTE,
    Chart,
    IntervalPoint,
    IntervalSeries,
    LegendItem,
    Rule,
)


def engagement_rate_figure(data: ReportData) -> Figure:
    """Weekly engagement rate per community, shaded over the weeks of engagement-drop incidents.

    Args:
        data: the report's figures.

    Returns:
        The figure, with the data points it drew.
    """
    values: dict[str, dict[date, float]] = defaultdict(dict)
    for row in data.weekly_engagement:
        values[row.community_id][row.week_start] = row.engagement_rate
    rates = [r.engagement_rate for r in data.weekly_engagement]
    y_top = charts.nice_ticks(0, max(rates) * 1.05)[-1] if rates else 1.0
    by_brand = per_brand_series(data, values, step=7)
    panels: list[tuple[Chart, str]] = [
        (
            charts.line_chart(
                series,
                title=brand_label(brand),
                y_format=charts.percent(1),
                tooltip_format=charts.percent(2),
                y_label="engagement rate (% per member per post)",
                x_label="week starting (Monday, UTC)",
                y_domain=(0.0, y_top),
                bands=incident_bands(data, "engagement_drop", brand, step=7),
                width=panel_width(len(by_brand)),
                height=280,
                point_radius=2.8,
            ),
            legend_for(series),
        )
        for brand, series in by_brand
    ]
    if not panels:
        panels = [(charts.empty_chart("Engagement rate", "no community-week shown"), "")]
    return figure(
        "engagement_rate",
        "Engagement rate per community, by week",
        "Engagements (comments, net reactions and shares received by the posts) ÷ (posts \u00d7 "
        "members at the start of the day), pooled over each week's shown days of "
        "marts.fct_community_daily. Solid lines: micro communities; dashed grey: the brand's "
        "broad channels. Same scale in every panel; a gap is a week with too few active members "
        "to show. Shaded: the weeks an engagement_drop incident of marts.fct_alert_incidents "
        "touched, from the day it opened to the day it resolved, or to the last day seen while "
        "it is open (dashed edge): engagements per post fell below the community's own baseline "
        "by more than its counts make likely by chance.",
        panels,
        legend=charts.legend([LegendItem("engagement_drop incident window", ALERT_COLOR, "band")]),
        columns=min(3, len(panels)),
    )


def micro_vs_broad_figure(data: ReportData) -> Figure:
    """Engagement rate of micro vs broad communities per brand and week, with 95% intervals.

    Args:
        data: the report's figures.

    Returns:
        The figure, with the data points it drew.
    """
    bounds = [
        v
        for r in data.lift
        for v in (r.micro_upper, r.broad_upper, r.micro_rate, r.broad_rate)
        if v is not None
    ]
    y_top = charts.nice_ticks(0, max(bounds) * 1.05)[-1] if bounds else 1.0
    panels = []
    brands = [b for b in brand_ids(data) if any(r.brand_id == b for r in data.lift)]
    for brand in brands:
        weeks = [r for r in data.lift if r.brand_id == brand]
        micro = [
            IntervalPoint(
                r.week_start, r.micro_rate, r.micro_lower, r.micro_upper, f"{r.micro_posts} posts"
            )
            for r in weeks
            if r.micro_rate is not None and r.micro_lower is not None and r.micro_upper is not None
        ]
        broad = [
            IntervalPoint(
                r.week_start, r.broad_rate, r.broad_lower, r.broad_upper, f"{r.broad_posts} posts"
            )
            for r in weeks
            if r.broad_rate is not None and r.broad_lower is not None and r.broad_upper is not None
        ]
        if micro or broad:
            panels.append(
                charts.interval_chart(
                    [
                        IntervalSeries("micro communities", micro, MICRO_COLOR),
                        IntervalSeries("broad channels", broad, BROAD_COLOR),
                    ],
                    title=brand_label(brand),
                    y_format=charts.percent(1),
                    y_label="engagement rate (% per member per post)",
                    x_label="week starting (Monday, UTC)",
                    y_domain=(0.0, y_top),
                    width=panel_width(len(brands)),
                    height=280,
                )
            )
    if not panels:
        panels = [charts.empty_chart("Micro vs broad", "no brand-week with a side shown")]
    legend = charts.legend(
        [
            LegendItem("micro communities", MICRO_COLOR, "interval"),
            LegendItem(
                "broad channels",
                BROAD_COLOR,
                "interval",
                "dot: the week's rate; bar: 95% Poisson score interval",
            ),
        ]
    )
    return figure(
        "engagement_micro_vs_broad",
        "Engagement rate per post: micro communities vs broad channels, by brand",
        "marts.fct_brand_engagement_lift: the week's engagements ÷ member-post opportunities "
        "(posts \u00d7 members at the start of the week) on each side, with its 95% Poisson "
        "score interval (engagements are counts: a member may engage many times per post). "
        "Members are those seen in the community (observed membership). A side with fewer than "
        f"{data.min_group_size} active members in a week is not shown.",
        panels,
        legend=legend,
        columns=min(3, len(panels)),
    )


def lift_figure(data: ReportData) -> Figure:
    """Lift per brand and week (micro rate ÷ broad rate), with 95% intervals.

    Args:
        data: the report's figures.

    Returns:
        The figure, with the data points it drew.
    """
    series = []
    for k, brand in enumerate(brand_ids(data)):
        points = [
            IntervalPoint(
                r.week_start,
                r.lift,
                r.lift_lower,
                r.lift_upper,
                f"small groups got {r.small_group_share:.0%} of the brand's engagement"
                if r.small_group_share is not None
                else "",
            )
            for r in data.lift
            if r.brand_id == brand
            and r.lift is not None
            and r.lift_lower is not None
            and r.lift_upper is not None
        ]
        if points:
            series.append(IntervalSeries(brand_label(brand), points, PALETTE[k % len(PALETTE)]))
    lifts = [p.value for s in series for p in s.points]
    uppers = sorted(p.upper for s in series for p in s.points)
    # A quiet broad week makes a very wide interval; cutting the axis above most intervals
    # keeps the others readable (cut bars end in an arrow, tooltips keep the exact bounds).
    cap = max(max(lifts, default=1.0) * 1.5, uppers[int(len(uppers) * 0.8)] if uppers else 2.0)
    chart = charts.interval_chart(
        series,
        title="",
        y_format=charts.times,
        y_label="lift (\u00d7 the broad rate)",
        x_label="week starting (Monday, UTC)",
        y_domain=(0.0, charts.nice_ticks(0, cap)[-1]),
        rules=[Rule(1.0, "1\u00d7 = no lift", "#5b6170")],
        width=PANEL_1,
        height=300,
    )
    legend = charts.legend(
        [LegendItem(s.name, s.color, "interval") for s in series]
        + [LegendItem("1\u00d7 = micro and broad members engage alike", "#5b6170", "rule")]
    )
    caption = (
        "marts.fct_brand_engagement_lift.lift: how many times more a member of the brand's "
        "small groups engages per post than a member of its broad channels, with the "
        "conservative 95% interval (micro lower ÷ broad upper, micro upper ÷ broad lower). An "
        "arrow means the bar continues beyond the axis; hover for the exact bounds."
    )
    if lifts:
        caption += (
            f" Median weekly lift across brands: <strong>{statistics.median(lifts):.1f}\u00d7"
            "</strong>."
        )
    return figure(
        "lift", "Lift per brand: micro ÷ broad, with 95% intervals", caption, [chart], legend=legend
    )
