"""Inline SVG charts for the static report: no JavaScript library, nothing fetched at view time.

Every chart function returns a `Chart`: the SVG markup and how many data points it drew. Each
drawn data point carries the class `pt` and a `<title>` (the browser's own tooltip), so the page
can count what was drawn and a reader can hover for exact values. Charts size themselves through
their viewBox: give each a width close to the width it is shown at, so text stays ~1:1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape

Formatter = Callable[[float], str]
X = date | float

# Observable's 10-colour categorical scheme: distinct on white, reasonable for colour-blind readers.
PALETTE = (
    "#4269d0",
    "#efb118",
    "#ff725c",
    "#6cc5b0",
    "#3ca951",
    "#ff8ab7",
    "#a463f2",
    "#97bbf5",
    "#9c6b4e",
    "#9498a0",
)
MICRO_COLOR = "#4269d0"
BROAD_COLOR = "#7a808c"
ALERT_COLOR = "#d62728"
MUTED_COLOR = "#c3c7cf"
TEXT_COLOR = "#1f2430"
AXIS_COLOR = "#5b6170"
GRID_COLOR = "#e6e8ec"

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Liberation Sans', 'DejaVu Sans', sans-serif"


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
    name: str
    points: Sequence[IntervalPoint]
    color: str


@dataclass(frozen=True)
class Marker:
    """An event drawn on a line chart (an alert): a triangle above (x, y)."""

    x: X
    y: float
    label: str
    color: str = ALERT_COLOR


@dataclass(frozen=True)
class Rule:
    """A horizontal (or, on bar charts, vertical) reference line with a label."""

    value: float
    label: str
    color: str = ALERT_COLOR
    dashed: bool = True


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    color: str = MICRO_COLOR
    tooltip: str = ""
    annotation: str | None = None


@dataclass(frozen=True)
class ColumnSeries:
    name: str
    values: Sequence[float]
    color: str


@dataclass(frozen=True)
class LegendItem:
    name: str
    color: str
    shape: str = "line"  # line | dashed | dot | bar | marker | interval | rule
    note: str = ""


@dataclass
class _Frame:
    """Plot area inside an SVG of `width` x `height`, with margins for axes and a title."""

    width: float
    height: float
    left: float = 58
    right: float = 18
    top: float = 34
    bottom: float = 46
    parts: list[str] = field(default_factory=list)

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:  # bottom of the plot area
        return self.height - self.bottom

    @property
    def y1(self) -> float:  # top of the plot area
        return self.top

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def render(self, label: str) -> str:
        label = label or "chart"
        return (
            f'<svg viewBox="0 0 {self.width:g} '
            f'{self.height:g}" role="img" aria-label="{esc(label)}" '
            f'font-family="{FONT}" font-size="11" fill="{TEXT_COLOR}">'
            + "".join(self.parts)
            + "</svg>"
        )


# -- formatting --------------------------------------------------------------------------------


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def percent(digits: int = 0) -> Formatter:
    def fmt(value: float) -> str:
        return f"{value * 100:.{digits}f}%"

    return fmt


def times(value: float) -> str:
    return f"{value:.1f}\u00d7"


def number(digits: int = 0) -> Formatter:
    def fmt(value: float) -> str:
        return f"{value:,.{digits}f}"

    return fmt


def signed(digits: int = 2) -> Formatter:
    def fmt(value: float) -> str:
        return f"{value:+.{digits}f}" if value else f"{0:.{digits}f}"

    return fmt


def day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def _f(value: float) -> str:
    return f"{value:.1f}"


# -- scales ------------------------------------------------------------------------------------


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (about `count` of them)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step + 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-6:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high - step * 1e-6:
        ticks.append(round(value, 12))
    return ticks


def _nice_domain(low: float, high: float, count: int = 5) -> tuple[float, float, list[float]]:
    ticks = nice_ticks(low, high, count)
    return ticks[0], ticks[-1], ticks


class _Linear:
    def __init__(self, d0: float, d1: float, r0: float, r1: float) -> None:
        self.d0, self.d1, self.r0, self.r1 = d0, d1, r0, r1

    def __call__(self, value: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (value - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)


def _as_number(x: X) -> float:
    return float(x.toordinal()) if isinstance(x, date) else float(x)


def _date_ticks(first: date, last: date, max_ticks: int = 7) -> list[date]:
    span = (last - first).days
    for step in (1, 2, 7, 14, 28, 56, 91, 182, 364):
        if span / step <= max_ticks - 1:
            break
    # Week steps start on a Monday (weeks are ISO weeks everywhere in Pulse).
    start = first + timedelta(days=(7 - first.weekday()) % 7) if step >= 7 else first
    ticks = []
    day = start
    while day <= last:
        ticks.append(day)
        day += timedelta(days=step)
    return ticks or [first]


# -- shared pieces ------------------------------------------------------------------------------


def _top(title: str, subtitle: str = "") -> float:
    """Room above the plot: a heading row, or a little air when the figure holds the title."""
    return 34 if title or subtitle else 12


def _title(frame: _Frame, title: str, subtitle: str = "", x: float | None = None) -> None:
    if not title and not subtitle:
        return
    frame.add(
        f'<text x="{_f(frame.x0 if x is None else x)}" y="16" font-size="13" '
        f'font-weight="600">{esc(title)}</text>'
    )
    if subtitle:
        frame.add(
            f'<text x="{_f(frame.x1)}" y="16" font-size="11" text-anchor="end" '
            f'fill="{AXIS_COLOR}">{esc(subtitle)}</text>'
        )


def _y_axis(
    frame: _Frame, scale: _Linear, ticks: Sequence[float], fmt: Formatter, label: str
) -> None:
    for tick in ticks:
        y = scale(tick)
        frame.add(
            f'<line x1="{_f(frame.x0)}" x2="{_f(frame.x1)}" y1="{_f(y)}" y2="{_f(y)}" '
            f'stroke="{GRID_COLOR}"/>'
            f'<text x="{_f(frame.x0 - 6)}" y="{_f(y + 4)}" text-anchor="end" '
            f'fill="{AXIS_COLOR}">{esc(fmt(tick))}</text>'
        )
    if label:
        cy = (frame.y0 + frame.y1) / 2
        frame.add(
            f'<text transform="translate(13 {_f(cy)}) rotate(-90)" text-anchor="middle" '
            f'fill="{AXIS_COLOR}" font-size="11">{esc(label)}</text>'
        )


def _x_axis_line(frame: _Frame, label: str) -> None:
    frame.add(
        f'<line x1="{_f(frame.x0)}" x2="{_f(frame.x1)}" y1="{_f(frame.y0)}" '
        f'y2="{_f(frame.y0)}" stroke="{AXIS_COLOR}"/>'
    )
    if label:
        frame.add(
            f'<text x="{_f((frame.x0 + frame.x1) / 2)}" y="{_f(frame.height - 6)}" '
            f'text-anchor="middle" fill="{AXIS_COLOR}">{esc(label)}</text>'
        )


def _x_tick(frame: _Frame, x: float, text: str) -> None:
    frame.add(
        f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{_f(frame.y0)}" y2="{_f(frame.y0 + 4)}" '
        f'stroke="{AXIS_COLOR}"/>'
        f'<text x="{_f(x)}" y="{_f(frame.y0 + 16)}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">{esc(text)}</text>'
    )


def _h_rule(frame: _Frame, scale: _Linear, rule: Rule) -> None:
    y = scale(rule.value)
    dash = ' stroke-dasharray="5 4"' if rule.dashed else ""
    frame.add(
        f'<line class="rule" x1="{_f(frame.x0)}" x2="{_f(frame.x1)}" y1="{_f(y)}" '
        f'y2="{_f(y)}" stroke="{rule.color}" stroke-width="1.5"{dash}/>'
        f'<text x="{_f(frame.x1 - 2)}" y="{_f(y - 4)}" text-anchor="end" font-size="10.5" '
        f'fill="{rule.color}" stroke="#fff" stroke-width="3" paint-order="stroke">'
        f"{esc(rule.label)}</text>"
    )


def empty_chart(title: str, message: str, *, width: float = 400, height: float = 200) -> Chart:
    """A placeholder that says why there is nothing to draw (and counts 0 points)."""
    frame = _Frame(width, height, top=_top(title))
    _title(frame, title)
    frame.add(
        f'<rect x="{_f(frame.x0)}" y="{_f(frame.y1)}" width="{_f(frame.x1 - frame.x0)}" '
        f'height="{_f(frame.y0 - frame.y1)}" fill="#f6f7f9" stroke="{GRID_COLOR}"/>'
        f'<text x="{_f((frame.x0 + frame.x1) / 2)}" y="{_f((frame.y0 + frame.y1) / 2)}" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">{esc(message)}</text>'
    )
    return Chart(frame.render(title), 0)


# -- line chart ---------------------------------------------------------------------------------


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    y_format: Formatter,
    y_label: str,
    x_label: str = "",
    subtitle: str = "",
    x_domain: tuple[X, X] | None = None,
    y_domain: tuple[float, float] | None = None,
    x_format: Callable[[X], str] | None = None,
    rules: Sequence[Rule] = (),
    markers: Sequence[Marker] = (),
    width: float = 400,
    height: float = 260,
    point_radius: float = 2.4,
    tooltip_format: Formatter | None = None,
) -> Chart:
    """Lines with a dot per value; dates or numbers on x; optional reference lines and markers."""
    drawn = [(x, y) for s in series for x, y in s.points if y is not None]
    if not drawn:
        return empty_chart(title, "no data shown (none, or every period suppressed)", width=width)
    xs = [_as_number(x) for x, _ in drawn]
    dated = isinstance(drawn[0][0], date)
    lo_x, hi_x = (min(xs), max(xs)) if x_domain is None else tuple(map(_as_number, x_domain))
    if y_domain is None:
        ys = [y for _, y in drawn] + [r.value for r in rules] + [m.y for m in markers]
        low, high = min(ys), max(ys)
        low = min(low, 0.0) if low >= 0 else low
        y_lo, y_hi, ticks = _nice_domain(low, high * 1.05 if high > 0 else high)
    else:
        y_lo, y_hi = y_domain
        ticks = nice_ticks(y_lo, y_hi)
        ticks = [t for t in ticks if y_lo - 1e-9 <= t <= y_hi + 1e-9]
    frame = _Frame(width, height, top=_top(title, subtitle))
    pad = 8
    sx = _Linear(lo_x, hi_x, frame.x0 + pad, frame.x1 - pad)
    sy = _Linear(y_lo, y_hi, frame.y0, frame.y1)
    _title(frame, title, subtitle)
    _y_axis(frame, sy, ticks, y_format, y_label)
    _x_axis_line(frame, x_label)
    if dated:
        first, last = date.fromordinal(int(lo_x)), date.fromordinal(int(hi_x))
        for tick in _date_ticks(first, last, max_ticks=max(3, int(width // 70))):
            _x_tick(frame, sx(tick.toordinal()), day_label(tick))
    else:
        for tick in nice_ticks(lo_x, hi_x, count=min(8, max(2, int(hi_x - lo_x)))):
            if lo_x <= tick <= hi_x and float(tick).is_integer():
                _x_tick(frame, sx(tick), (x_format or (lambda v: f"{v:g}"))(tick))
    for rule in rules:
        _h_rule(frame, sy, rule)
    tip = tooltip_format or y_format
    fmt_x = x_format or (lambda v: day_label(v) if isinstance(v, date) else f"{v:g}")
    points = 0
    for s in series:
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        run: list[str] = []
        runs: list[list[str]] = []
        for x, y in s.points:
            if y is None:
                if run:
                    runs.append(run)
                run = []
                continue
            run.append(f"{_f(sx(_as_number(x)))},{_f(sy(y))}")
        if run:
            runs.append(run)
        for part in runs:
            if len(part) > 1:
                frame.add(
                    f'<polyline points="{" ".join(part)}" fill="none" stroke="{s.color}" '
                    f'stroke-width="1.8" stroke-linejoin="round"{dash}/>'
                )
        for x, y in s.points:
            if y is None:
                continue
            points += 1
            frame.add(
                f'<circle class="pt" cx="{_f(sx(_as_number(x)))}" cy="{_f(sy(y))}" '
                f'r="{point_radius:g}" fill="{s.color}" stroke="#fff" stroke-width="0.6">'
                f"<title>{esc(s.name)} · {esc(fmt_x(x))}: {esc(tip(y))}</title></circle>"
            )
    for marker in markers:
        cx, cy = sx(_as_number(marker.x)), sy(marker.y) - 7
        frame.add(
            f'<path class="marker" d="M{_f(cx - 5)},{_f(cy - 8)} L{_f(cx + 5)},{_f(cy - 8)} '
            f'L{_f(cx)},{_f(cy)} Z" fill="{marker.color}" stroke="#fff" stroke-width="0.8">'
            f"<title>{esc(marker.label)}</title></path>"
        )
    return Chart(frame.render(title), points)


# -- interval chart (dot + whisker) -------------------------------------------------------------


def interval_chart(
    series: Sequence[IntervalSeries],
    *,
    title: str,
    y_format: Formatter,
    y_label: str,
    x_label: str = "",
    subtitle: str = "",
    y_domain: tuple[float, float] | None = None,
    rules: Sequence[Rule] = (),
    width: float = 400,
    height: float = 260,
) -> Chart:
    """Point estimates with interval bars, one group per x category, series side by side.

    Whiskers that leave the y range are cut at its edge and drawn with an open arrow, so one
    very wide interval does not flatten every other; the tooltip keeps the exact bounds.
    """
    drawn = [p for s in series for p in s.points]
    if not drawn:
        return empty_chart(title, "no data shown (none, or every period suppressed)", width=width)
    categories = sorted({p.x for p in drawn}, key=_as_number)
    if y_domain is None:
        values = [p.value for p in drawn] + [p.upper for p in drawn] + [r.value for r in rules]
        y_lo, y_hi, ticks = _nice_domain(min(0.0, *values), max(values) * 1.05)
    else:
        y_lo, y_hi = y_domain
        ticks = [t for t in nice_ticks(y_lo, y_hi) if y_lo - 1e-9 <= t <= y_hi + 1e-9]
    frame = _Frame(width, height, top=_top(title, subtitle))
    sy = _Linear(y_lo, y_hi, frame.y0, frame.y1)
    band = (frame.x1 - frame.x0) / len(categories)
    _title(frame, title, subtitle)
    _y_axis(frame, sy, ticks, y_format, y_label)
    _x_axis_line(frame, x_label)
    every = max(1, math.ceil(len(categories) / max(2, int(width // 62))))
    for i, category in enumerate(categories):
        if i % every == 0:
            text = day_label(category) if isinstance(category, date) else f"{category:g}"
            _x_tick(frame, frame.x0 + band * (i + 0.5), text)
    for rule in rules:
        _h_rule(frame, sy, rule)
    slot = min(band * 0.7, 26 * len(series)) / max(len(series), 1)
    points = 0
    for k, s in enumerate(series):
        offset = (k - (len(series) - 1) / 2) * slot
        for p in s.points:
            i = categories.index(p.x)
            cx = frame.x0 + band * (i + 0.5) + offset
            top, bottom = min(p.upper, y_hi), max(p.lower, y_lo)
            ty, by = sy(top), sy(bottom)
            frame.add(
                f'<line x1="{_f(cx)}" x2="{_f(cx)}" y1="{_f(ty)}" y2="{_f(by)}" '
                f'stroke="{s.color}" stroke-width="1.6"/>'
            )
            for end, cut, direction in ((ty, p.upper > y_hi, -1), (by, p.lower < y_lo, 1)):
                if cut:
                    frame.add(
                        f'<path d="M{_f(cx - 4)},{_f(end - direction * 6)} L{_f(cx)},{_f(end)} '
                        f'L{_f(cx + 4)},{_f(end - direction * 6)}" fill="none" '
                        f'stroke="{s.color}" stroke-width="1.6"/>'
                    )
                else:
                    frame.add(
                        f'<line x1="{_f(cx - 4)}" x2="{_f(cx + 4)}" y1="{_f(end)}" '
                        f'y2="{_f(end)}" stroke="{s.color}" stroke-width="1.6"/>'
                    )
            when = day_label(p.x) if isinstance(p.x, date) else f"{p.x:g}"
            note = f" ({p.note})" if p.note else ""
            points += 1
            frame.add(
                f'<circle class="pt" cx="{_f(cx)}" cy="{_f(sy(min(max(p.value, y_lo), y_hi)))}" '
                f'r="3.6" fill="{s.color}" stroke="#fff" stroke-width="1">'
                f"<title>{esc(s.name)} · {esc(when)}: {esc(y_format(p.value))} "
                f"[95%: {esc(y_format(p.lower))} \u2013 {esc(y_format(p.upper))}]"
                f"{esc(note)}</title></circle>"
            )
    return Chart(frame.render(title), points)


# -- horizontal bars ---------------------------------------------------------------------------


def hbar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    x_format: Formatter,
    x_label: str,
    subtitle: str = "",
    x_domain: tuple[float, float] | None = None,
    threshold: Rule | None = None,
    width: float = 600,
    row_height: float = 24,
    label_width: float = 190,
) -> Chart:
    """One horizontal bar per item, labelled on the left, value at the bar's end."""
    if not bars:
        return empty_chart(title, "no data shown", width=width)
    top = _top(title, subtitle) + (12 if threshold is not None else 0)
    height = top + row_height * len(bars) + 46
    frame = _Frame(width, height, left=label_width, right=56, top=top)
    high = max([b.value for b in bars] + ([threshold.value] if threshold else []))
    if x_domain is None:
        x_lo, x_hi, ticks = _nice_domain(0.0, high if high > 0 else 1.0)
    else:
        x_lo, x_hi = x_domain
        ticks = [t for t in nice_ticks(x_lo, x_hi) if x_lo - 1e-9 <= t <= x_hi + 1e-9]
    sx = _Linear(x_lo, x_hi, frame.x0, frame.x1)
    _title(frame, title, subtitle, x=8)
    for tick in ticks:
        x = sx(tick)
        frame.add(
            f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{_f(frame.y1)}" y2="{_f(frame.y0)}" '
            f'stroke="{GRID_COLOR}"/>'
            f'<text x="{_f(x)}" y="{_f(frame.y0 + 16)}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">{esc(x_format(tick))}</text>'
        )
    frame.add(
        f'<text x="{_f((frame.x0 + frame.x1) / 2)}" y="{_f(frame.height - 6)}" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">{esc(x_label)}</text>'
    )
    points = 0
    for i, bar in enumerate(bars):
        y = frame.y1 + i * row_height + 4
        h = row_height - 8
        w = max(sx(bar.value) - sx(x_lo), 0.0)
        frame.add(
            f'<text x="{_f(frame.x0 - 8)}" y="{_f(y + h / 2 + 4)}" text-anchor="end">'
            f"{esc(bar.label)}</text>"
        )
        points += 1
        tooltip = bar.tooltip or f"{bar.label}: {x_format(bar.value)}"
        frame.add(
            f'<rect class="pt" x="{_f(frame.x0)}" y="{_f(y)}" width="{_f(max(w, 1.5))}" '
            f'height="{_f(h)}" rx="2" fill="{bar.color}"><title>{esc(tooltip)}</title></rect>'
            f'<text x="{_f(frame.x0 + w + 5)}" y="{_f(y + h / 2 + 4)}" font-size="10.5" '
            f'fill="{AXIS_COLOR}">{esc(bar.annotation or x_format(bar.value))}</text>'
        )
    frame.add(
        f'<line x1="{_f(frame.x0)}" x2="{_f(frame.x0)}" y1="{_f(frame.y1)}" '
        f'y2="{_f(frame.y0)}" stroke="{AXIS_COLOR}"/>'
    )
    if threshold is not None:
        x = sx(threshold.value)
        frame.add(
            f'<line class="rule" x1="{_f(x)}" x2="{_f(x)}" y1="{_f(frame.y1 - 4)}" '
            f'y2="{_f(frame.y0)}" stroke="{threshold.color}" stroke-width="1.6" '
            f'stroke-dasharray="5 4"/>'
            f'<text x="{_f(x + 4)}" y="{_f(frame.y1 - 6)}" font-size="10.5" '
            f'fill="{threshold.color}">{esc(threshold.label)}</text>'
        )
    return Chart(frame.render(title), points)


# -- columns -----------------------------------------------------------------------------------


def column_chart(
    categories: Sequence[str],
    series: Sequence[ColumnSeries],
    *,
    title: str,
    y_format: Formatter,
    y_label: str,
    x_label: str = "",
    subtitle: str = "",
    width: float = 600,
    height: float = 280,
) -> Chart:
    """Vertical columns per category; several series are drawn side by side."""
    values = [v for s in series for v in s.values]
    if not categories or not any(values):
        return empty_chart(title, "no data shown", width=width)
    y_lo, y_hi, ticks = _nice_domain(0.0, max(values) * 1.08)
    frame = _Frame(width, height, top=_top(title, subtitle))
    sy = _Linear(y_lo, y_hi, frame.y0, frame.y1)
    band = (frame.x1 - frame.x0) / len(categories)
    _title(frame, title, subtitle)
    _y_axis(frame, sy, ticks, y_format, y_label)
    _x_axis_line(frame, x_label)
    for i, category in enumerate(categories):
        _x_tick(frame, frame.x0 + band * (i + 0.5), category)
    slot = band * 0.78 / len(series)
    points = 0
    for k, s in enumerate(series):
        for i, value in enumerate(s.values):
            x = frame.x0 + band * (i + 0.11) + k * slot
            y = sy(value)
            points += 1
            frame.add(
                f'<rect class="pt" x="{_f(x)}" y="{_f(y)}" width="{_f(slot - 2)}" '
                f'height="{_f(max(frame.y0 - y, 0.0))}" rx="1.5" fill="{s.color}">'
                f"<title>{esc(s.name)} · {esc(categories[i])}: {esc(y_format(value))}</title>"
                f"</rect>"
            )
            if value:
                frame.add(
                    f'<text x="{_f(x + (slot - 2) / 2)}" y="{_f(y - 3)}" text-anchor="middle" '
                    f'font-size="10" fill="{AXIS_COLOR}">{esc(y_format(value))}</text>'
                )
    return Chart(frame.render(title), points)


# -- funnel ------------------------------------------------------------------------------------


def funnel_chart(
    stages: Sequence[tuple[str, int]],
    *,
    title: str,
    subtitle: str = "",
    width: float = 560,
    row_height: float = 40,
    color: str = MICRO_COLOR,
) -> Chart:
    """Centred bars, each as wide as its count relative to the first stage."""
    if not stages or stages[0][1] <= 0:
        return empty_chart(title, "no ideas yet", width=width)
    label_width = 170
    top = _top(title, subtitle)
    height = top + row_height * len(stages) + 10
    frame = _Frame(width, height, left=label_width, right=20, bottom=10, top=top)
    _title(frame, title, subtitle)
    first = stages[0][1]
    centre = (frame.x0 + frame.x1) / 2
    full = frame.x1 - frame.x0
    points = 0
    for i, (label, count) in enumerate(stages):
        y = frame.y1 + i * row_height + 3
        h = row_height - 8
        w = max(full * count / first, 2.0)
        share = count / first
        opacity = 1.0 - 0.12 * i
        points += 1
        text = f"{count:,} · {share:.0%}"
        frame.add(
            f'<text x="{_f(frame.x0 - 10)}" y="{_f(y + h / 2 + 4)}" text-anchor="end" '
            f'font-size="11.5">{esc(label)}</text>'
            f'<rect class="pt" x="{_f(centre - w / 2)}" y="{_f(y)}" width="{_f(w)}" '
            f'height="{_f(h)}" rx="3" fill="{color}" fill-opacity="{opacity:.2f}">'
            f"<title>{esc(label)}: {count:,} ideas ({share:.0%} of submitted)</title></rect>"
        )
        if w >= 7.5 * len(text) + 12:  # the label fits inside the bar
            frame.add(
                f'<text x="{_f(centre)}" y="{_f(y + h / 2 + 4)}" text-anchor="middle" '
                f'font-size="11.5" font-weight="600" fill="#fff">{esc(text)}</text>'
            )
        else:
            frame.add(
                f'<text x="{_f(centre + w / 2 + 6)}" y="{_f(y + h / 2 + 4)}" font-size="11.5" '
                f'font-weight="600" fill="{TEXT_COLOR}">{esc(text)}</text>'
            )
    return Chart(frame.render(title), points)


# -- legend (HTML) -----------------------------------------------------------------------------


def _swatch(item: LegendItem) -> str:
    c = item.color
    if item.shape in ("line", "dashed", "rule"):
        dash = ' stroke-dasharray="5 3"' if item.shape != "line" else ""
        body = f'<line x1="1" y1="7" x2="21" y2="7" stroke="{c}" stroke-width="2.2"{dash}/>'
        if item.shape != "rule":
            body += f'<circle cx="11" cy="7" r="2.6" fill="{c}"/>'
    elif item.shape == "dot":
        body = f'<circle cx="11" cy="7" r="4" fill="{c}"/>'
    elif item.shape == "interval":
        body = (
            f'<line x1="11" y1="1" x2="11" y2="13" stroke="{c}" stroke-width="1.6"/>'
            f'<line x1="7" y1="1" x2="15" y2="1" stroke="{c}" stroke-width="1.6"/>'
            f'<line x1="7" y1="13" x2="15" y2="13" stroke="{c}" stroke-width="1.6"/>'
            f'<circle cx="11" cy="7" r="3.4" fill="{c}"/>'
        )
    elif item.shape == "marker":
        body = f'<path d="M5,2 L17,2 L11,12 Z" fill="{c}"/>'
    else:  # bar
        body = f'<rect x="3" y="2" width="16" height="10" rx="2" fill="{c}"/>'
    return f'<svg viewBox="0 0 22 14" width="22" height="14" aria-hidden="true">{body}</svg>'


def legend(items: Sequence[LegendItem]) -> str:
    """An HTML legend (wraps on narrow screens, unlike SVG text)."""
    entries = "".join(
        f"<li>{_swatch(item)}<span>{esc(item.name)}</span>"
        + (f' <span class="legend-note">{esc(item.note)}</span>' if item.note else "")
        + "</li>"
        for item in items
    )
    return f'<ul class="legend">{entries}</ul>'
