"""Chart legends, in HTML rather than SVG: an HTML legend wraps on narrow screens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pulse.report.svg.format import esc


@dataclass(frozen=True)
class LegendItem:
    """One entry of a legend: a swatch of `shape` in `color`, the name, an optional note."""

    name: str
    color: str
    shape: str = "line"  # line | dashed | dot | bar | band | tick | interval | rule
    note: str = ""


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
    elif item.shape == "band":
        body = (
            f'<rect x="3" y="1" width="16" height="12" fill="{c}" fill-opacity="0.16"/>'
            f'<rect x="3" y="1" width="16" height="3" fill="{c}"/>'
        )
    elif item.shape == "tick":
        body = f'<line x1="11" y1="1" x2="11" y2="13" stroke="{c}" stroke-width="2"/>'
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
