"""The parts every chart shares: the SVG frame and its plot area, title, axes, reference lines.

`empty_chart`, the placeholder for a chart without data, is built of these parts alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pulse.report.svg.format import Formatter, esc, px
from pulse.report.svg.marks import Chart, Rule
from pulse.report.svg.scales import LinearScale
from pulse.report.svg.style import AXIS_COLOR, FONT, GRID_COLOR, TEXT_COLOR


@dataclass
class Frame:
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
        """Append SVG markup, drawn above everything added before."""
        self.parts.append(markup)

    def render(self, label: str) -> str:
        """The whole `<svg>` element; `label` is what a screen reader announces."""
        label = label or "chart"
        return (
            f'<svg viewBox="0 0 {self.width:g} '
            f'{self.height:g}" role="img" aria-label="{esc(label)}" '
            f'font-family="{FONT}" font-size="11" fill="{TEXT_COLOR}">'
            + "".join(self.parts)
            + "</svg>"
        )


def top_margin(title: str, subtitle: str = "") -> float:
    """Room above the plot: a heading row, or a little air when the figure holds the title."""
    return 34 if title or subtitle else 12


def draw_title(frame: Frame, title: str, subtitle: str = "", x: float | None = None) -> None:
    """The title at the top left, the subtitle at the top right (nothing when both are empty)."""
    if not title and not subtitle:
        return
    frame.add(
        f'<text x="{px(frame.x0 if x is None else x)}" y="16" font-size="13" '
        f'font-weight="600">{esc(title)}</text>'
    )
    if subtitle:
        frame.add(
            f'<text x="{px(frame.x1)}" y="16" font-size="11" text-anchor="end" '
            f'fill="{AXIS_COLOR}">{esc(subtitle)}</text>'
        )


def y_axis(
    frame: Frame, scale: LinearScale, ticks: Sequence[float], fmt: Formatter, label: str
) -> None:
    """Grid lines with their values on the left, and the axis label turned upright."""
    for tick in ticks:
        y = scale(tick)
        frame.add(
            f'<line x1="{px(frame.x0)}" x2="{px(frame.x1)}" y1="{px(y)}" y2="{px(y)}" '
            f'stroke="{GRID_COLOR}"/>'
            f'<text x="{px(frame.x0 - 6)}" y="{px(y + 4)}" text-anchor="end" '
            f'fill="{AXIS_COLOR}">{esc(fmt(tick))}</text>'
        )
    if label:
        cy = (frame.y0 + frame.y1) / 2
        frame.add(
            f'<text transform="translate(13 {px(cy)}) rotate(-90)" text-anchor="middle" '
            f'fill="{AXIS_COLOR}" font-size="11">{esc(label)}</text>'
        )


def x_axis_line(frame: Frame, label: str) -> None:
    """The x axis along the bottom of the plot area, with its label below."""
    frame.add(
        f'<line x1="{px(frame.x0)}" x2="{px(frame.x1)}" y1="{px(frame.y0)}" '
        f'y2="{px(frame.y0)}" stroke="{AXIS_COLOR}"/>'
    )
    if label:
        frame.add(
            f'<text x="{px((frame.x0 + frame.x1) / 2)}" y="{px(frame.height - 6)}" '
            f'text-anchor="middle" fill="{AXIS_COLOR}">{esc(label)}</text>'
        )


def x_tick(frame: Frame, x: float, text: str) -> None:
    """A tick on the x axis at `x`, with its text below."""
    frame.add(
        f'<line x1="{px(x)}" x2="{px(x)}" y1="{px(frame.y0)}" y2="{px(frame.y0 + 4)}" '
        f'stroke="{AXIS_COLOR}"/>'
        f'<text x="{px(x)}" y="{px(frame.y0 + 16)}" text-anchor="middle" '
        f'fill="{AXIS_COLOR}">{esc(text)}</text>'
    )


def h_rule(frame: Frame, scale: LinearScale, rule: Rule) -> None:
    """A horizontal reference line across the plot area, labelled at its right end."""
    y = scale(rule.value)
    dash = ' stroke-dasharray="5 4"' if rule.dashed else ""
    frame.add(
        f'<line class="rule" x1="{px(frame.x0)}" x2="{px(frame.x1)}" y1="{px(y)}" '
        f'y2="{px(y)}" stroke="{rule.color}" stroke-width="1.5"{dash}/>'
        f'<text x="{px(frame.x1 - 2)}" y="{px(y - 4)}" text-anchor="end" font-size="10.5" '
        f'fill="{rule.color}" stroke="#fff" stroke-width="3" paint-order="stroke">'
        f"{esc(rule.label)}</text>"
    )


def empty_chart(title: str, message: str, *, width: float = 400, height: float = 200) -> Chart:
    """A placeholder that says why there is nothing to draw (and counts 0 points).

    Args:
        title: the chart's title ("" when the figure around it holds the title).
        message: why there is nothing to draw, shown in the middle.
        width: SVG width, close to the width it is shown at.
        height: SVG height.

    Returns:
        The placeholder, with 0 points.
    """
    frame = Frame(width, height, top=top_margin(title))
    draw_title(frame, title)
    frame.add(
        f'<rect x="{px(frame.x0)}" y="{px(frame.y1)}" width="{px(frame.x1 - frame.x0)}" '
        f'height="{px(frame.y0 - frame.y1)}" fill="#f6f7f9" stroke="{GRID_COLOR}"/>'
        f'<text x="{px((frame.x0 + frame.x1) / 2)}" y="{px((frame.y0 + frame.y1) / 2)}" '
        f'text-anchor="middle" fill="{AXIS_COLOR}">{esc(message)}</text>'
    )
    return Chart(frame.render(title), 0)
