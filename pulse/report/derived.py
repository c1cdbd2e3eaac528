"""Figures the report computes from the marts' rows itself, in Python.

Brand voice is pooled over a recent window of days, and per week; topics are judged on the
latest complete week (the last day with data may still be in progress).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from pulse.report.data import BrandVoice, DailyFigures

# Brand voice is judged over the most recent weeks, not the whole history.
BRAND_VOICE_WINDOW_DAYS = 28


def brand_voice_window(last_day: date | None) -> tuple[date, date] | None:
    """The last `BRAND_VOICE_WINDOW_DAYS` days up to `last_day` (None: no day yet)."""
    if not last_day:
        return None
    return last_day - timedelta(days=BRAND_VOICE_WINDOW_DAYS - 1), last_day


def pooled_brand_voice(days: Iterable[DailyFigures], window: tuple[date, date]) -> list[BrandVoice]:
    """Brand voice share per community over the window, each day weighted by its items.

    Args:
        days: the shown community-days.
        window: first and last day to pool, both included.

    Returns:
        One row per community with posts or comments in the window, highest share first.
    """
    voiced: dict[str, float] = defaultdict(float)
    items: dict[str, int] = defaultdict(int)
    for day in days:
        n = day.posts + day.comments
        if day.brand_voice_share is None or not n or not window[0] <= day.day <= window[1]:
            continue
        voiced[day.community_id] += day.brand_voice_share * n
        items[day.community_id] += n
    return sorted(
        (BrandVoice(cid, voiced[cid] / items[cid], items[cid]) for cid in items),
        key=lambda row: (-row.share, row.community_id),
    )


def weekly_brand_voice(days: Iterable[DailyFigures]) -> dict[str, dict[date, float]]:
    """Brand voice share per community and ISO week, each shown day weighted by its items.

    Args:
        days: the shown community-days.

    Returns:
        community -> week's Monday -> share, for the weeks with posts or comments shown.
    """
    voiced: dict[tuple[str, date], float] = defaultdict(float)
    items: dict[tuple[str, date], int] = defaultdict(int)
    for day in days:
        n = day.posts + day.comments
        if day.brand_voice_share is None or not n:
            continue
        key = (day.community_id, day.day - timedelta(days=day.day.weekday()))
        voiced[key] += day.brand_voice_share * n
        items[key] += n
    weekly: dict[str, dict[date, float]] = defaultdict(dict)
    for (community_id, week), n in sorted(items.items()):
        weekly[community_id][week] = voiced[(community_id, week)] / n
    return dict(weekly)


def latest_complete_week(last_day: date | None) -> date | None:
    """The Monday of the latest ISO week that ended before `last_day` (None: no day yet).

    The last day with data may be in progress, so the week holding it is never complete.
    """
    if not last_day:
        return None
    return last_day - timedelta(days=last_day.weekday() + 7)
