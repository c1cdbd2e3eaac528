"""What chart functions take (series, points, bars, rules, bands) and return (`Chart`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pulse.report.svg.scales import X
from pulse.report.svg.style import ALERT_COLOR, MICRO_COLOR


@dataclass(frozen=True)
class Chart:
    """One SVG and the number of data points it shows."""

    svg: str
    points: int


@dataclass(frozen=True)
class Series:
    """A line: (x, y) pairs in x order; y None breaks the line (a suppressed period)."""

    name: str
    points: Sequence[tuple[X, float | None]]
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class IntervalPoint:
    """A point estimate with its interval, at x (a category or a date)."""

    x: X
    value: float
    lower: float
    upper: float
    note: str = ""


@dataclass(frozen=True)
class IntervalSeries:
    """Point estimates with intervals of one group, drawn in one colour."""

    name: str
    points: Sequence[IntervalPoint]
    color: str


@dataclass(frozen=True)
class Band:
    """A stretch of x shaded behind a line chart's lines (an incident's window).

    `label` is its tooltip and what a screen reader hears; `tag` is the short text written at
    its top; `accent` colours the strip along its top (the line it is about); `open_end` draws
    its right edge dashed (still going). `strong` shades it darker (a critical incident).
    """

    start: X
    end: X
    label: str
    tag: str = ""
    accent: str = ALERT_COLOR
    color: str = ALERT_COLOR
    open_end: bool = False
    strong: bool = False


@dataclass(frozen=True)
class Rule:
    """A horizontal (or, on bar charts, vertical) reference line with a label."""

    value: float
    label: str
    color: str = ALERT_COLOR
    dashed: bool = True


@dataclass(frozen=True)
class Bar:
    """One bar of a bar chart; `annotation` replaces the formatted value at the bar's end."""

    label: str
    value: float
    color: str = MICRO_COLOR
    tooltip: str = ""
    annotation: str | None = None
    reference: float | None = None  # a tick across the bar (an earlier value to compare with)


@dataclass(frozen=True)
class ColumnSeries:
    """One value per category of a column chart, drawn in one colour."""

    name: str
    values: Sequence[float]
    color: str
