"""Text on and around the charts: escaping, number and date formats, SVG coordinates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from html import escape

Formatter = Callable[[float], str]


def esc(value: object) -> str:
    """`value` as text safe inside HTML or SVG, in element content and in quoted attributes."""
    return escape(str(value), quote=True)


def percent(digits: int = 0) -> Formatter:
    """A formatter of shares as percentages: `percent(1)(0.123)` is `12.3%`."""

    def fmt(value: float) -> str:
        return f"{value * 100:.{digits}f}%"

    return fmt


def times(value: float) -> str:
    """A ratio as a multiple: 6.1, then the multiplication sign."""
    return f"{value:.1f}\u00d7"


def number(digits: int = 0) -> Formatter:
    """A formatter of numbers with thousands separators."""

    def fmt(value: float) -> str:
        return f"{value:,.{digits}f}"

    return fmt


def signed(digits: int = 2) -> Formatter:
    """A formatter that shows the sign of every value but zero (sentiment, from -1 to +1)."""

    def fmt(value: float) -> str:
        return f"{value:+.{digits}f}" if value else f"{0:.{digits}f}"

    return fmt


def day_label(day: date) -> str:
    """A day as a short axis label, `Mar 2`."""
    return f"{day:%b} {day.day}"


def px(value: float) -> str:
    """An SVG coordinate: a tenth of a pixel is as fine as a screen shows, and keeps pages small."""
    return f"{value:.1f}"
