"""From data to positions: round tick values, linear scales, date ticks."""

from __future__ import annotations

import math
from datetime import date, timedelta

X = date | float


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high].

    Args:
        low: lowest value to cover.
        high: highest value to cover (a range of zero width is widened).
        count: about how many steps.

    Returns:
        Evenly spaced values with a step of 1, 2, 2.5 or 5 times a power of ten, the first at or
        below `low` and the last at or above `high`.
    """
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


def nice_domain(low: float, high: float, count: int = 5) -> tuple[float, float, list[float]]:
    """The axis range that `nice_ticks` spans, and the ticks."""
    ticks = nice_ticks(low, high, count)
    return ticks[0], ticks[-1], ticks


class LinearScale:
    """Maps the domain [d0, d1] onto the range [r0, r1] (a flat domain maps to the middle)."""

    def __init__(self, d0: float, d1: float, r0: float, r1: float) -> None:
        self.d0, self.d1, self.r0, self.r1 = d0, d1, r0, r1

    def __call__(self, value: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (value - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)


def as_number(x: X) -> float:
    """An x value on a numeric axis: a date is its day number."""
    return float(x.toordinal()) if isinstance(x, date) else float(x)


def date_ticks(first: date, last: date, max_ticks: int = 7) -> list[date]:
    """Days from `first` to `last` a round step apart (days, weeks, months), at most `max_ticks`."""
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
