"""Interval charts: point estimates with their intervals (dot and whisker), series side by side."""

from __future__ import annotations

import math
from collections.abc import Sequence
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
from pulse.report.svg.marks import Chart, IntervalSeries, Rule
from pulse.report.svg.scales import LinearScale, as_number, nice_domain, nice_ticks


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
    categories = sorted({p.x for p in drawn}, key=as_number)
    if y_domain is None:
        values = [p.value for p in drawn] + [p.upper for p in drawn] + [r.value for r in rules]
        y_lo, y_hi, ticks = nice_domain(min(0.0, *values), max(values) * 1.05)
    else:
        y_lo, y_hi = y_domain
        ticks = [t for t in nice_ticks(y_lo, y_hi) if y_lo - 1e-9 <= t <= y_hi + 1e-9]
    frame = Frame(width, height, top=top_margin(title, subtitle))
    sy = LinearScale(y_lo, y_hi, frame.y0, frame.y1)
    band = (frame.x1 - frame.x0) / len(categories)
    draw_title(frame, title, subtitle)
    y_axis(frame, sy, ticks, y_format, y_label)
    x_axis_line(frame, x_label)
    every = max(1, math.ceil(len(categories) / max(2, int(width // 62))))
    for i, category in enumerate(categories):
        if i % every == 0:
            text = day_label(category) if isinstance(category, date) else f"{category:g}"
            x_tick(frame, frame.x0 + band * (i + 0.5), text)
    for rule in rules:
        h_rule(frame, sy, rule)
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
                f'<line x1="{px(cx)}" x2="{px(cx)}" y1="{px(ty)}" y2="{px(by)}" '
                f'stroke="{s.color}" stroke-width="1.6"/>'
            )
            for end, cut, direction in ((ty, p.upper > y_hi, -1), (by, p.lower < y_lo, 1)):
                if cut:
                    frame.add(
                        f'<path d="M{px(cx - 4)},{px(end - direction * 6)} L{px(cx)},{px(end)} '
                        f'L{px(cx + 4)},{px(end - direction * 6)}" fill="none" '
                        f'stroke="{s.color}" stroke-width="1.6"/>'
                    )
                else:
                    frame.add(
                        f'<line x1="{px(cx - 4)}" x2="{px(cx + 4)}" y1="{px(end)}" '
                        f'y2="{px(end)}" stroke="{s.color}" stroke-width="1.6"/>'
                    )
            when = day_label(p.x) if isinstance(p.x, date) else f"{p.x:g}"
            note = f" ({p.note})" if p.note else ""
            points += 1
            frame.add(
                f'<circle class="pt" cx="{px(cx)}" cy="{px(sy(min(max(p.value, y_lo), y_hi)))}" '
                f'r="3.6" fill="{s.color}" stroke="#fff" stroke-width="1">'
                f"<title>{esc(s.name)} · {esc(when)}: {esc(y_format(p.value))} "
                f"[95%: {esc(y_format(p.lower))} \u2013 {esc(y_format(p.upper))}]"
                f"{esc(note)}</title></circle>"
            )
    return Chart(frame.render(title), points)
