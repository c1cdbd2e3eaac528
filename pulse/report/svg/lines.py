"""Line charts: a line and a dot per value over dates or numbers, with rules and shaded bands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from pulse.report.svg.format import Formatter, day_label, esc, px
from pulse.report.svg.frame import (
    Frame,
    draw_title,
    empty_chart,
    h_rule,
    top_margin,
    x_axis_line,
    x_tick,
    y_axis,
)
from pulse.report.svg.marks import Band, Chart, Rule, Series
from pulse.report.svg.scales import LinearScale, X, as_number, date_ticks, nice_domain, nice_ticks
from pulse.report.svg.style import AXIS_COLOR


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
    bands: Sequence[Band] = (),
    width: float = 400,
    height: float = 260,
    point_radius: float = 2.4,
    tooltip_format: Formatter | None = None,
) -> Chart:
    """Lines with a dot per value; dates or numbers on x; optional reference lines and bands.

    Bands are shaded behind the lines, cut at the plot's edges; each is named in the chart's
    accessible label as well as in its tooltip.
    """
    drawn = [(x, y) for s in series for x, y in s.points if y is not None]
    if not drawn:
        return empty_chart(title, "no data shown (none, or every period suppressed)", width=width)
    xs = [as_number(x) for x, _ in drawn]
    dated = isinstance(drawn[0][0], date)
    lo_x, hi_x = (min(xs), max(xs)) if x_domain is None else tuple(map(as_number, x_domain))
    if y_domain is None:
        ys = [y for _, y in drawn] + [r.value for r in rules]
        low, high = min(ys), max(ys)
        low = min(low, 0.0) if low >= 0 else low
        y_lo, y_hi, ticks = nice_domain(low, high * 1.05 if high > 0 else high)
    else:
        y_lo, y_hi = y_domain
        ticks = nice_ticks(y_lo, y_hi)
        ticks = [t for t in ticks if y_lo - 1e-9 <= t <= y_hi + 1e-9]
    frame = Frame(width, height, top=top_margin(title, subtitle))
    pad = 8
    sx = LinearScale(lo_x, hi_x, frame.x0 + pad, frame.x1 - pad)
    sy = LinearScale(y_lo, y_hi, frame.y0, frame.y1)
    draw_title(frame, title, subtitle)
    y_axis(frame, sy, ticks, y_format, y_label)
    x_axis_line(frame, x_label)
    if dated:
        first, last = date.fromordinal(int(lo_x)), date.fromordinal(int(hi_x))
        for tick in date_ticks(first, last, max_ticks=max(3, int(width // 70))):
            x_tick(frame, sx(tick.toordinal()), day_label(tick))
    else:
        for tick in nice_ticks(lo_x, hi_x, count=min(8, max(2, int(hi_x - lo_x)))):
            if lo_x <= tick <= hi_x and float(tick).is_integer():
                x_tick(frame, sx(tick), (x_format or (lambda v: f"{v:g}"))(tick))
    shown = [b for b in bands if as_number(b.end) >= lo_x and as_number(b.start) <= hi_x]
    for k, band in enumerate(shown):
        _band(frame, sx, band, row=k % 3)
    for rule in rules:
        h_rule(frame, sy, rule)
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
            run.append(f"{px(sx(as_number(x)))},{px(sy(y))}")
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
                f'<circle class="pt" cx="{px(sx(as_number(x)))}" cy="{px(sy(y))}" '
                f'r="{point_radius:g}" fill="{s.color}" stroke="#fff" stroke-width="0.6">'
                f"<title>{esc(s.name)} · {esc(fmt_x(x))}: {esc(tip(y))}</title></circle>"
            )
    shaded = "Shaded: " + "; ".join(band.label for band in shown) if shown else ""
    return Chart(frame.render(". ".join(part for part in (title, shaded) if part)), points)


def _band(frame: Frame, sx: LinearScale, band: Band, row: int) -> None:
    """A shaded stretch of the plot area; its tag on `row` (0-2), so near ones do not collide."""
    left = min(max(sx(as_number(band.start)), frame.x0), frame.x1)
    right = min(max(sx(as_number(band.end)), frame.x0), frame.x1)
    if right - left < 3:  # a stretch narrower than a day of a long axis still shows
        middle = (left + right) / 2
        left, right = max(frame.x0, middle - 1.5), min(frame.x1, middle + 1.5)
    top, bottom = frame.y1, frame.y0
    parts = [
        f'<rect x="{px(left)}" y="{px(top)}" width="{px(right - left)}" '
        f'height="{px(bottom - top)}" fill="{band.color}" '
        f'fill-opacity="{0.16 if band.strong else 0.08}"/>',
        f'<rect x="{px(left)}" y="{px(top)}" width="{px(right - left)}" height="4" '
        f'fill="{band.accent}"/>',
    ]
    if band.open_end:
        parts.append(
            f'<line x1="{px(right)}" x2="{px(right)}" y1="{px(top)}" y2="{px(bottom)}" '
            f'stroke="{band.color}" stroke-width="1.2" stroke-dasharray="3 3"/>'
        )
    if band.tag:
        # Written inside the band from its left edge, or ending at its right edge in the right
        # half of the plot, so it stays inside the chart; the halo keeps it legible over lines.
        anchor, x = ("end", right - 3) if left > (frame.x0 + frame.x1) / 2 else ("start", left + 3)
        parts.append(
            f'<text x="{px(x)}" y="{px(top + 15 + 12 * row)}" text-anchor="{anchor}" '
            f'font-size="10.5" fill="{AXIS_COLOR}" stroke="#fff" stroke-width="3" '
            f'paint-order="stroke">{esc(band.tag)}</text>'
        )
    frame.add(f'<g class="band"><title>{esc(band.label)}</title>{"".join(parts)}</g>')
