"""The retention figure: how many members of each join-week cohort stay, micro vs broad."""

from __future__ import annotations

from pulse.report import svg as charts
from pulse.report.data import ReportData
from pulse.report.figures.communities import legend_for
from pulse.report.figures.layout import PANEL_2, Figure, figure
from pulse.report.svg import PALETTE, Chart, Series


def retention_figure(data: ReportData) -> Figure:
    """Retention curves per join-week cohort, one panel for micro and one for broad.

    Args:
        data: the report's figures.

    Returns:
        The figure, with the data points it drew.
    """
    panels: list[tuple[Chart, str]] = []
    for kind, label in (("micro", "Micro communities"), ("broad", "Broad channels")):
        rows = [r for r in data.retention if r.community_kind == kind]
        series = []
        for k, cohort in enumerate(sorted({r.cohort_week for r in rows})):
            cohort_rows = sorted(
                (r for r in rows if r.cohort_week == cohort), key=lambda r: r.weeks_since_join
            )
            size = max(r.cohort_members for r in cohort_rows)
            series.append(
                Series(
                    f"joined week of {charts.day_label(cohort)} ({size:,} members)",
                    [(float(r.weeks_since_join), r.retained_share) for r in cohort_rows],
                    PALETTE[k % len(PALETTE)],
                )
            )
        if not series:
            continue
        last_week = max(r.weeks_since_join for r in rows)
        chart = charts.line_chart(
            series,
            title=label,
            y_format=charts.percent(0),
            tooltip_format=charts.percent(1),
            y_label="share of the cohort active that week",
            x_label="weeks since joining (0 = the join week)",
            x_domain=(0.0, float(max(last_week, 1))),
            y_domain=(0.0, 1.0),
            x_format=lambda v: f"{v:g}",
            width=PANEL_2,
            height=300,
            point_radius=2.8,
        )
        panels.append((chart, legend_for(series)))
    if not panels:
        panels = [(charts.empty_chart("Retention", "no cohort large enough to show"), "")]
    return figure(
        "retention",
        "Retention curves per join-week cohort",
        "marts.fct_member_retention: share of each cohort (members whose first join fell in "
        "that week) active in each later week, pooled over the communities of one kind. A "
        f"cohort of fewer than {data.min_group_size} members in a community is left out. The "
        "latest week is still in progress.",
        panels,
        columns=2,
    )
