"""The sentiment figure: mean sentiment per community and day, with negative-sentiment alerts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from pulse.report import svg as charts
from pulse.report.data import ReportData
from pulse.report.figures.communities import (
    brand_label,
    community_label,
    community_names,
    legend_for,
    per_brand_series,
)
from pulse.report.figures.layout import PANEL_1, Figure, figure
from pulse.report.figures.numbers import share_text
from pulse.report.svg import ALERT_COLOR, Chart, LegendItem, Marker, Rule, esc

# Rows of the alert table under the sentiment chart (the markers show every alert).
ALERT_TABLE_ROWS = 12


def sentiment_figure(data: ReportData) -> Figure:
    """Daily mean sentiment per community, marked where a negative spike alert fell.

    Args:
        data: the report's figures.

    Returns:
        The figure, with the data points it drew.
    """
    names = community_names(data)
    values: dict[str, dict[date, float]] = defaultdict(dict)
    negative: dict[tuple[str, date], float | None] = {}
    for row in data.daily:
        if row.avg_sentiment is not None:
            values[row.community_id][row.day] = row.avg_sentiment
        negative[(row.community_id, row.day)] = row.negative_share
    spikes = [a for a in data.alerts if a.alert_type == "negative_sentiment_spike"]
    panels: list[tuple[Chart, str]] = []
    for brand, series in per_brand_series(data, values, step=1):
        members = {s.name for s in series}
        markers = []
        for alert in spikes:
            label = community_label(names.get(alert.community_id), alert.community_id)
            y = values.get(alert.community_id, {}).get(alert.day)
            if label not in members or y is None:
                continue
            share = negative.get((alert.community_id, alert.day))
            detail = f", {share:.0%} of posts and comments negative" if share is not None else ""
            markers.append(
                Marker(
                    alert.day,
                    y,
                    f"negative_sentiment_spike ({alert.severity}) · {label} · "
                    f"{charts.day_label(alert.day)}{detail}",
                )
            )
        chart = charts.line_chart(
            series,
            title=brand_label(brand),
            y_format=charts.signed(1),
            tooltip_format=charts.signed(2),
            y_label="mean sentiment (\u22121 … +1)",
            x_label="day (UTC)",
            y_domain=(-1.0, 1.0),
            rules=[Rule(0.0, "neutral", "#8b93a3")],
            markers=markers,
            width=PANEL_1,
            height=250,
            point_radius=1.9,
        )
        panels.append((chart, legend_for(series)))
    if not panels:
        panels = [(charts.empty_chart("Sentiment", "no community-day shown"), "")]
    recent = sorted(spikes, key=lambda a: (a.day, a.community_id), reverse=True)
    rows = "".join(
        f"<tr><td>{esc(f'{a.day:%Y-%m-%d}')}</td>"
        f"<td>{esc(community_label(names.get(a.community_id), a.community_id))}</td>"
        f"<td>{esc(a.severity)}</td>"
        f"<td>{share_text(negative.get((a.community_id, a.day)))}</td></tr>"
        for a in recent[:ALERT_TABLE_ROWS]
    )
    more = len(recent) - ALERT_TABLE_ROWS
    table = (
        '<table class="alerts"><caption>Latest negative-sentiment alerts</caption><thead><tr>'
        "<th>day</th><th>community</th><th>severity</th><th>negative share that day</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
        + (
            f'<p class="note">… and {more} earlier alert(s), all marked above.</p>'
            if more > 0
            else ""
        )
        if rows
        else '<p class="note">No negative-sentiment alert in the period.</p>'
    )
    t = data.thresholds
    return figure(
        "sentiment",
        "Sentiment over time, with negative-sentiment alerts",
        "marts.fct_community_daily.avg_sentiment: mean sentiment of the day's posts and comments "
        "(sent by the platform, else the VADER compound score of the text). Red triangles: "
        f"negative_sentiment_spike alerts: a day with at least {t.min_items} posts and comments "
        f"of which at least {t.negative_share_min:.0%} are negative, {t.negative_spike_delta:.0%}"
        f" points or more above the previous {t.baseline_days} days. Source: "
        f"{esc(data.alerts_source)}.",
        panels,
        legend=charts.legend(
            [
                LegendItem("negative_sentiment_spike alert", ALERT_COLOR, "marker"),
                LegendItem("neutral (0)", "#8b93a3", "rule"),
            ]
        ),
        after=table,
    )
