"""Inline SVG charts for the static report: no JavaScript library, nothing fetched at view time.

Every chart function returns a `Chart`: the SVG markup and how many data points it drew. Each
drawn data point carries the class `pt` and a `<title>` (the browser's own tooltip), so the page
can count what was drawn and a reader can hover for exact values. Charts size themselves through
their viewBox: give each a width close to the width it is shown at, so text stays ~1:1.

The modules: `style` (colours, font), `format` (text and numbers), `scales` (ticks, linear
scales), `marks` (what charts are given and return), `frame` (plot area, axes, the empty chart),
`lines`, `intervals` and `bars` (the chart types), `legend` (HTML legends). Bands (shaded
stretches of a line chart's x axis) are not data points: they carry a `<title>` too, and each
is named in its chart's accessible label.
"""

from __future__ import annotations

from pulse.report.svg.bars import column_chart, funnel_chart, hbar_chart
from pulse.report.svg.format import (
    Formatter,
    day_label,
    esc,
    number,
    percent,
    signed,
    times,
)
from pulse.report.svg.frame import empty_chart
from pulse.report.svg.intervals import interval_chart
from pulse.report.svg.legend import LegendItem, legend
from pulse.report.svg.lines import line_chart
from pulse.report.svg.marks import (
    Band,
    Bar,
    Chart,
    ColumnSeries,
    IntervalPoint,
    IntervalSeries,
    Rule,
    Series,
)
from pulse.report.svg.scales import X, nice_ticks
from pulse.report.svg.style import (
    ALERT_COLOR,
    AXIS_COLOR,
    BROAD_COLOR,
    FONT,
    GRID_COLOR,
    MICRO_COLOR,
    MUTED_COLOR,
    PALETTE,
    TEXT_COLOR,
)

__all__ = [
    "ALERT_COLOR",
    "AXIS_COLOR",
    "BROAD_COLOR",
    "FONT",
    "GRID_COLOR",
    "MICRO_COLOR",
    "MUTED_COLOR",
    "PALETTE",
    "TEXT_COLOR",
    "Band",
    "Bar",
    "Chart",
    "ColumnSeries",
    "Formatter",
    "IntervalPoint",
    "IntervalSeries",
    "LegendItem",
    "Rule",
    "Series",
    "X",
    "column_chart",
    "day_label",
    "empty_chart",
    "esc",
    "funnel_chart",
    "hbar_chart",
    "interval_chart",
    "legend",
    "line_chart",
    "nice_ticks",
    "number",
    "percent",
    "signed",
    "times",
]
