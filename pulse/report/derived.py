"""Figures the report computes from the daily figures itself, in Python.

Brand voice is pooled over a recent window, and the day alerts are found with the publisher's
own rules and thresholds (`pulse.publishing.alerts`) when none has been published yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from pulse.publishing.alerts import AlertThresholds, DayFigures, evaluate
from pulse.report.data import DAY_ALERT_TYPES, Alert, BrandVoice, DailyFigures

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


def computed_alerts(days: Sequence[DailyFigures], thresholds: AlertThresholds) -> list[Alert]:
    """The day alerts the publisher's rules raise over every day in `days`.

    Args:
        days: the shown community-days.
        thresholds: the publisher's thresholds, from the run's settings.

    Returns:
        The alerts of the types in `DAY_ALERT_TYPES`, in the publisher's order.
    """
    if not days:
        return []
    first = min(d.day for d in days)
    last = max(d.day for d in days)
    found = evaluate(
        (
            DayFigures(
                community_id=d.community_id,
                activity_date=d.day,
                is_suppressed=False,
                posts=d.posts,
                comments=d.comments,
                engagements_per_post=d.engagements_per_post,
                brand_voice_share=d.brand_voice_share,
                negative_share=d.negative_share,
            )
            for d in days
        ),
        [],
        interval_start=datetime.combine(first, time(0), tzinfo=UTC),
        interval_end=datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC),
        run_id="report",
        thresholds=thresholds,
    )
    return [
        Alert(a.community_id, date.fromisoformat(a.subject), a.alert_type, a.severity, a.summary)
        for a in found
        if a.alert_type in DAY_ALERT_TYPES
    ]
