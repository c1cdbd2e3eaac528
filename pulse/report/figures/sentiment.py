"""The sentiment figure: mean sentiment per community and day, with negative-sentiment incidents."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from pulse.report import svg as charts
from pulse.report.data import ReportData
from pulse.report.figures.communities import brand_label, legend_for, per_brand_series
from pulse.report.figures.incidents import incident_bands
from pulse.report.figures.layout import PANEL_1, Figure, figure
from pulse.report.svg import ALERT_COLOR, Chart, LegendItem, Rule

INCIDENT_TYPE = "negative_sentiment_spike"


def sentiment_figure(data: ReportData) -> Figure:
    """Daily mean sentiment per community, shaded over each negative-sentiment incident.

    Args:
        data: the report's figures.

    Returns:
        The figure, with the data points it drew.
    """
    values: dict[str, dict[date, float]] = defaultdict(dict)
    for row in data.daily:
        if row.avg_sentiment is not None:
            values[row.community_id][row.day] = row.avg_sentiment
    panels: list[tuple[Chart, str]] = []
    for brand, series in per_brand_series(data, values, step=1):
        chart = charts.line_chart(
            series,
            title=brand_label(brand),
            y_format=charts.signed(1),
            tooltip_format=charts.signed(2),
            y_label="mean sentiment (\u22121 … +1)",
            x_label="day (UTC)",
            y_domain=(-1.0, 1.0),
            rules=[Rule(0.0, "neutral", "#8b93a3")],
            bands=incident_bands(data, INCIDENT_TYPE, brand, step=1),
            width=PANEL_1,
            height=250,
            point_radius=1.9,
        )
        panels.append((chart, legend_for(series)))
    if not panels:
        panels = [(charts.empty_chart("Sentiment", "no community-day shown"), "")]
    return figure(
        "sentiment",
        "Sentiment over time, with negative-sentiment incidents",
        "marts.fct_community_daily.avg_sentiment: mean sentiment of the day's posts and comments "
        "(sent by the platform, else the VADER compound score of the text). Shaded: the window of "
        f"each {INCIDENT_TYPE} incident of marts.fct_alert_incidents, from the day it opened to "
        "the day it resolved, or to the last day seen while it is open (dashed edge; darker when "
        "critical; the strip on top has the community's colour). An incident opens when the "
        "share of negative posts and comments rises above the community's own baseline by more "
        "than its counts make likely by chance. Hover a window for its figures.",
        panels,
        legend=charts.legend(
            [
                LegendItem(f"{INCIDENT_TYPE} incident window", ALERT_COLOR, "band"),
                LegendItem("neutral (0)", "#8b93a3", "rule"),
            ]
        ),
    )
