"""How figures' numbers read in captions, tables and tiles: shares and durations."""

from __future__ import annotations


def share_text(value: float | None) -> str:
    """A share as a percentage; one decimal below 10% so a small share never reads as 0%."""
    if value is None:
        return ""
    return f"{value:.1%}" if 0 < value < 0.1 else f"{value:.0%}"


def hours_text(value: float) -> str:
    """A duration in hours, or in days from two days on."""
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"
