"""Bar charts: horizontal bars, vertical columns, and the funnel (centred bars)."""

from __future__ import annotations

from collections.abc import Sequence

from pulse.report.svg.format import Formatter, esc, px
from pulse.report.svg.frame import (
    Frame,
    draw_title,
    empty_chart,
    top_margin,
    x_axis_line,
    x_tick,
    y_axis,
)
from pulse.report.svg.marks import Bar, Chart, ColumnSeries
from pulse.report.svg.scales import LinearScale, nice_domain, nice_ticks
from pulse.report.svg.style import AXIS_COLOR, GRID_COLOR, MICRO_COLOR, TEXT_COLOR


def hbar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    x_format: Formatter,
    x_label: str,
    subtitle: str = "",
    x_domain: tuple[float, float] | None = None,
    width: float = 600,
    row_height: float = 24,
    label_width: float = 190,
    description: str = "",
) -> Chart:
    """One horizontal bar per item, labelled on the left, value at the bar's end.

    A bar's `reference` is drawn as a dark tick across it; `description` is added to the
    chart's accessible label (what a screen reader hears besides the title).
    """
    if not bars:
        return empty_chart(title, "no data shown", width=width)
    top = top_margin(title, subtitle)
    height = top + row_height * len(bars) + 46
    frame = Frame(width, height, left=label_width, right=56, top=top)
    references = [b.reference for b in bars if b.reference is not None]
    high = max([b.value for b in bars] + references)
    if x_domain is None:
        x_lo, x_hi, ticks = nice_domain(0.0, high if high > 0 else 1.0)
    else:
        x_lo, x_hi = x_domain
        ticks = [t for t in nice_ticks(x_lo, x_hi) if x_lo - 1e-9 <= t <= x_hi + 1e-9]
    sx = LinearScale(x_lo, x_hi, frame.x0, frame.x1)
    draw_title(frame, title, subtitle, x=8)
    for tick in ticks:
        x = sx(tick)
        frame.add(
            f'<line x1="{px(x)}" x2="{px(x)}" y1="{px(frame.y1)}" y2="{px(frame.y0)}" '
            f'stroke="{GRID_COLOR}"/>'
            f'<text x="{px(x)}" y="{px(frame.y0 + 16)}" text-anchor="middle" '
            f'fill="{AXIS_COLOR}">{esc(x_format(tick))}</text>'
        )
    frame.add(
        f'<text x="{px((frame.x0 + frame.x1) / 2)}" y="{px(frame.height - 6)}" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">{esc(x_label)}</text>'
    )
    points = 0
    for i, bar in enumerate(bars):
        y = frame.y1 + i * row_height + 4
        h = row_height - 8
        w = max(sx(bar.value) - sx(x_lo), 0.0)
        # the annotation follows the bar, or its reference tick when that reaches further
        ends = w if bar.reference is None else max(w, sx(bar.reference) - sx(x_lo))
        frame.add(
            f'<text x="{px(frame.x0 - 8)}" y="{px(y + h / 2 + 4)}" text-anchor="end">'
            f"{esc(bar.label)}</text>"
        )
        points += 1
        tooltip = bar.tooltip or f"{bar.label}: {x_format(bar.value)}"
        frame.add(
            f'<rect class="pt" x="{px(frame.x0)}" y="{px(y)}" width="{px(max(w, 1.5))}" '
            f'height="{px(h)}" rx="2" fill="{bar.color}"><title>{esc(tooltip)}</title></rect>'
            f'<text x="{px(frame.x0 + ends + 5)}" y="{px(y + h / 2 + 4)}" font-size="10.5" '
            f'fill="{AXIS_COLOR}">{esc(bar.annotation or x_format(bar.value))}</text>'
        )
        if bar.reference is not None:
            x = sx(bar.reference)
            frame.add(
                f'<line x1="{px(x)}" x2="{px(x)}" y1="{px(y - 2)}" y2="{px(y + h + 2)}" '
                f'stroke="{TEXT_COLOR}" stroke-width="2"/>'
            )
    frame.add(
        f'<line x1="{px(frame.x0)}" x2="{px(frame.x0)}" y1="{px(frame.y1)}" '
        f'y2="{px(frame.y0)}" stroke="{AXIS_COLOR}"/>'
    )
    return Chart(frame.render(". ".join(part for part in (title, description) if part)), points)


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
    y_lo, y_hi, ticks = nice_domain(0.0, max(values) * 1.08)
    frame = Frame(width, height, top=top_margin(title, subtitle))
    sy = LinearScale(y_lo, y_hi, frame.y0, frame.y1)
    band = (frame.x1 - frame.x0) / len(categories)
    draw_title(frame, title, subtitle)
    y_axis(frame, sy, ticks, y_format, y_label)
    x_axis_line(frame, x_label)
    for i, category in enumerate(categories):
        x_tick(frame, frame.x0 + band * (i + 0.5), category)
    slot = band * 0.78 / len(series)
    points = 0
    for k, s in enumerate(series):
        for i, value in enumerate(s.values):
            x = frame.x0 + band * (i + 0.11) + k * slot
            y = sy(value)
            points += 1
            frame.add(
                f'<rect class="pt" x="{px(x)}" y="{px(y)}" width="{px(slot - 2)}" '
                f'height="{px(max(frame.y0 - y, 0.0))}" rx="1.5" fill="{s.color}">'
                f"<title>{esc(s.name)} · {esc(categories[i])}: {esc(y_format(value))}</title>"
                f"</rect>"
            )
            if value:
                frame.add(
                    f'<text x="{px(x + (slot - 2) / 2)}" y="{px(y - 3)}" text-anchor="middle" '
                    f'font-size="10" fill="{AXIS_COLOR}">{esc(y_format(value))}</text>'
                )
    return Chart(frame.render(title), points)


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
    top = top_margin(title, subtitle)
    height = top + row_height * len(stages) + 10
    frame = Frame(width, height, left=label_width, right=20, bottom=10, top=top)
    draw_title(frame, title, subtitle)
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
            f'<text x="{px(frame.x0 - 10)}" y="{px(y + h / 2 + 4)}" text-anchor="end" '
            f'font-size="11.5">{esc(label)}</text>'
            f'<rect class="pt" x="{px(centre - w / 2)}" y="{px(y)}" width="{px(w)}" '
            f'height="{px(h)}" rx="3" fill="{color}" fill-opacity="{opacity:.2f}">'
            f"<title>{esc(label)}: {count:,} ideas ({share:.0%} of submitted)</title></rect>"
        )
        if w >= 7.5 * len(text) + 12:  # the label fits inside the bar
            frame.add(
                f'<text x="{px(centre)}" y="{px(y + h / 2 + 4)}" text-anchor="middle" '
                f'font-size="11.5" font-weight="600" fill="#fff">{esc(text)}</text>'
            )
        else:
            frame.add(
                f'<text x="{px(centre + w / 2 + 6)}" y="{px(y + h / 2 + 4)}" font-size="11.5" '
                f'font-weight="600" fill="{TEXT_COLOR}">{esc(text)}</text>'
            )
    return Chart(frame.render(title), points)
