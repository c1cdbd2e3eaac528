"""The frame of every figure: panel widths, and a heading, legend, panels and caption in HTML.

A `Figure` also carries the number of data points its panels drew, which the page declares and
its self-check script counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pulse.report.svg import Chart, esc

PANEL_3 = 392  # width of a panel in a row of three (the page is at most 1240 px wide)
PANEL_2 = 590
PANEL_1 = 1190


def panel_width(panels: int) -> int:
    """SVG width that matches the shown width, so text stays the same size on every chart."""
    return PANEL_3 if panels >= 3 else PANEL_2 if panels == 2 else PANEL_1


@dataclass
class Figure:
    """One figure of the page: its HTML, and how many data points it shows.

    `empty_ok` marks a figure for which no data is normal (no dead letter at all).
    """

    chart_id: str
    html: str
    points: int
    empty_ok: bool = False


def figure(
    chart_id: str,
    title: str,
    caption: str,
    panels: Sequence[Chart | tuple[Chart, str]],
    *,
    legend: str = "",
    columns: int = 1,
    empty_ok: bool = False,
    after: str = "",
) -> Figure:
    """A figure: heading, shared legend, panels (each with its own legend), caption.

    Args:
        chart_id: the figure's id on the page (`chart-<id>`) and in the point counts.
        title: heading, as text.
        caption: HTML: escape what comes from data before passing it.
        panels: charts, each alone or with the HTML of its own legend.
        legend: HTML of the legend all panels share.
        columns: panels per row (1, 2 or 3).
        empty_ok: no data is normal for this figure (it is not reported empty).
        after: HTML after the caption (a table); escape what comes from data.

    Returns:
        The figure, with the sum of its panels' data points.
    """
    cells = []
    points = 0
    for panel in panels:
        chart, panel_legend = panel if isinstance(panel, tuple) else (panel, "")
        points += chart.points
        cells.append(f'<div class="panel">{chart.svg}{panel_legend}</div>')
    attrs = f'data-chart="{esc(chart_id)}" data-points="{points}"'
    if empty_ok:
        attrs += " data-empty-ok"
    html = (
        f'<figure class="chart" id="chart-{esc(chart_id)}" {attrs}>'
        f"<h3>{esc(title)}</h3>{legend}"
        f'<div class="panels cols-{columns}">{"".join(cells)}</div>'
        f"<figcaption>{caption}</figcaption>{after}</figure>"
    )
    return Figure(chart_id, html, points, empty_ok)
