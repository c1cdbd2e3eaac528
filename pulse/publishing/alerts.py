"""Alert rules of `community.alerts.v1`: pure functions from mart figures to alerts.

No I/O here: `pulse.publishing.publish` reads the figures from the run's build and sends what
`evaluate` returns. Every alert's id is derived from what it is about (type, community, day or
idea), never from the run, so a retried or re-run interval finds the same ids.

The rules (thresholds are settings, see `AlertThresholds`):

- negative_sentiment_spike: on a day of the interval, the share of negative posts and comments is
  at least `negative_share_min` and at least `negative_spike_delta` above its average over the
  previous `baseline_days` days. Checked on days in progress too: a turn in sentiment is worth
  knowing the same day.
- engagement_drop: on a *complete* day of the interval, engagements per post fell to
  `1 - engagement_drop_share` of the previous days' average or below. A day in progress is not
  judged: its posts are still collecting engagement.
- brand_voice_too_high: on a day of the interval, the brand and its moderators wrote more than
  `brand_voice_max` of the posts and comments.
- idea_unanswered: at the end of the interval, an idea submitted `idea_unanswered_days` or more
  earlier has had no response (no status change, no brand or moderator comment).

Day rules need `min_items` posts and comments on the day (ratios of a handful of items are
noise) and skip suppressed days (their figures are null: too few members to show anything). A
rule compared with a baseline needs `min_baseline_days` days of history. Severity is `critical`
when the figure is `critical_factor` times as far past its threshold as needed, else `warning`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean

from pulse.settings import Settings
from pulse.timestamps import parse_moment
from streaming.outbound import ALERT_TYPES, CommunityAlert, TimeWindow

# uuid5 namespace of alert ids: changing it would re-send every alert, so it never changes.
ALERT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://community-pulse/alerts/v1")


@dataclass(frozen=True)
class AlertThresholds:
    """The alert rules' knobs; their defaults and environment variables are `Settings`' (alert_*).

    Attributes:
        negative_share_min: Lowest negative share of a day that can be a spike.
        negative_spike_delta: How far above its baseline the negative share must be.
        engagement_drop_share: Drop of engagements per post, as a share of the baseline.
        brand_voice_max: Highest acceptable share of brand and moderator posts and comments.
        idea_unanswered_days: Days an idea may wait for a first response.
        baseline_days: Days before the observed one that make its baseline.
        min_baseline_days: Days of history a baseline needs (with figures shown).
        min_items: Posts and comments a day needs before its ratios are judged.
        critical_factor: How many times as far past the threshold makes an alert critical.
    """

    negative_share_min: float
    negative_spike_delta: float
    engagement_drop_share: float
    brand_voice_max: float
    idea_unanswered_days: float
    baseline_days: int
    min_baseline_days: int
    min_items: int
    critical_factor: float

    def __post_init__(self) -> None:
        for name in ("negative_share_min", "negative_spike_delta", "brand_voice_max"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be within [0, 1]")
        if not 0 < self.engagement_drop_share <= 1:
            raise ValueError("engagement_drop_share must be within (0, 1]")
        if self.idea_unanswered_days <= 0:
            raise ValueError("idea_unanswered_days must be positive")
        if not 1 <= self.min_baseline_days <= self.baseline_days:
            raise ValueError("need 1 <= min_baseline_days <= baseline_days")
        if self.min_items < 1:
            raise ValueError("min_items must be at least 1")
        if self.critical_factor < 1:
            raise ValueError("critical_factor must be at least 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertThresholds:
        """The thresholds the settings (PULSE_ALERT_*) say."""
        return cls(
            negative_share_min=settings.alert_negative_share_min,
            negative_spike_delta=settings.alert_negative_spike_delta,
            engagement_drop_share=settings.alert_engagement_drop_share,
            brand_voice_max=settings.alert_brand_voice_max,
            idea_unanswered_days=settings.alert_idea_unanswered_days,
            baseline_days=settings.alert_baseline_days,
            min_baseline_days=settings.alert_min_baseline_days,
            min_items=settings.alert_min_items,
            critical_factor=settings.alert_critical_factor,
        )


@dataclass(frozen=True)
class DayFigures:
    """The figures of one community-day the day rules read (a `fct_community_daily` row)."""

    community_id: str
    activity_date: date
    is_suppressed: bool
    posts: int | None = None
    comments: int | None = None
    engagements_per_post: float | None = None
    brand_voice_share: float | None = None
    negative_share: float | None = None

    @property
    def items(self) -> int:
        return (self.posts or 0) + (self.comments or 0)


@dataclass(frozen=True)
class IdeaResponse:
    """When an idea was submitted and first answered (a `fct_feedback_ideas` row)."""

    community_id: str
    idea_id: str
    submitted_at: datetime
    first_response_at: datetime | None = None


def alert_id(alert_type: str, community_id: str, subject: str) -> uuid.UUID:
    """The id of the alert of `alert_type` about `subject` (a day or an idea) in a community."""
    if alert_type not in ALERT_TYPES:
        raise ValueError(f"unknown alert type {alert_type!r}")
    return uuid.uuid5(ALERT_NAMESPACE, f"{alert_type}\x1f{community_id}\x1f{subject}")


def interval_days(start: datetime, end: datetime) -> list[date]:
    """The UTC days a half-open interval [start, end) touches."""
    start, end = parse_moment(start, "interval_start"), parse_moment(end, "interval_end")
    if end <= start:
        raise ValueError("the interval is empty")
    first = start.astimezone(UTC).date()
    last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def day_complete(day: date, interval_end: datetime) -> bool:
    """True when the UTC day had ended by the end of the interval."""
    return day_start(day) + timedelta(days=1) <= interval_end


def evaluate(
    days: Iterable[DayFigures],
    ideas: Iterable[IdeaResponse],
    *,
    interval_start: datetime,
    interval_end: datetime,
    run_id: str,
    thresholds: AlertThresholds,
) -> list[CommunityAlert]:
    """Every alert the figures raise for the run's data interval.

    Args:
        days: Community-days of the interval and of the `baseline_days` before it (others are
            ignored).
        ideas: Ideas with their submission and first response times.
        interval_start: Start of the data interval (aware).
        interval_end: End of the data interval (exclusive, aware); the moment idea ages are
            measured at.
        run_id: The pipeline run (carried in the messages, not in the ids).
        thresholds: The rules' knobs.

    Returns:
        Alerts ordered by type, community and subject.
    """
    context = _Context(interval_start, interval_end, run_id, thresholds)
    by_community: dict[str, dict[date, DayFigures]] = defaultdict(dict)
    for figures in days:
        by_community[figures.community_id][figures.activity_date] = figures
    alerts: list[CommunityAlert] = []
    for community_id in sorted(by_community):
        history = by_community[community_id]
        for day in interval_days(interval_start, interval_end):
            today = history.get(day)
            if today is None or today.is_suppressed or today.items < thresholds.min_items:
                continue
            previous = _previous(history, day, thresholds.baseline_days)
            for rule in (_negative_spike, _engagement_drop, _brand_voice):
                alert = rule(context, today, previous)
                if alert is not None:
                    alerts.append(alert)
    alerts.extend(_unanswered(context, ideas))
    order = {name: position for position, name in enumerate(ALERT_TYPES)}
    return sorted(alerts, key=lambda a: (order[a.alert_type], a.community_id, a.subject))


# -- rules --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    interval_start: datetime
    interval_end: datetime
    run_id: str
    limits: AlertThresholds

    def alert(
        self,
        alert_type: str,
        community_id: str,
        subject: str,
        *,
        critical: bool,
        metric: str,
        observed: float,
        baseline: float | None,
        threshold: float,
        window: TimeWindow,
        baseline_window: TimeWindow | None,
        summary: str,
        idea_id: str | None = None,
    ) -> CommunityAlert:
        return CommunityAlert(
            alert_id=alert_id(alert_type, community_id, subject),
            alert_type=alert_type,  # type: ignore[arg-type]
            severity="critical" if critical else "warning",
            community_id=community_id,
            subject=subject,
            metric=metric,
            observed=round(observed, 4),
            baseline=None if baseline is None else round(baseline, 4),
            threshold=threshold,
            window=window,
            baseline_window=baseline_window,
            idea_id=idea_id,
            summary=summary,
            run_id=self.run_id,
            data_interval_start=self.interval_start,
            data_interval_end=self.interval_end,
        )


def _previous(history: dict[date, DayFigures], day: date, count: int) -> list[DayFigures]:
    return [
        history[earlier]
        for earlier in (day - timedelta(days=n) for n in range(count, 0, -1))
        if earlier in history and not history[earlier].is_suppressed
    ]


def _day_window(day: date) -> TimeWindow:
    return TimeWindow(start=day_start(day), end=day_start(day) + timedelta(days=1))


def _baseline(
    context: _Context, day: date, previous: Sequence[DayFigures], metric: str
) -> tuple[float | None, TimeWindow]:
    values = [getattr(f, metric) for f in previous if getattr(f, metric) is not None]
    window = TimeWindow(
        start=day_start(day) - timedelta(days=context.limits.baseline_days), end=day_start(day)
    )
    if len(values) < context.limits.min_baseline_days:
        return None, window
    return fmean(float(v) for v in values), window


def _negative_spike(
    context: _Context, today: DayFigures, previous: Sequence[DayFigures]
) -> CommunityAlert | None:
    limits = context.limits
    observed = today.negative_share
    if observed is None:
        return None
    baseline, baseline_window = _baseline(context, today.activity_date, previous, "negative_share")
    if baseline is None:
        return None
    observed = float(observed)
    rise = observed - baseline
    if observed < limits.negative_share_min or rise < limits.negative_spike_delta:
        return None
    return context.alert(
        "negative_sentiment_spike",
        today.community_id,
        today.activity_date.isoformat(),
        critical=rise >= limits.negative_spike_delta * limits.critical_factor,
        metric="negative_share",
        observed=observed,
        baseline=baseline,
        threshold=limits.negative_share_min,
        window=_day_window(today.activity_date),
        baseline_window=baseline_window,
        summary=(
            f"{observed:.0%} of posts and comments on {today.activity_date} are negative "
            f"(previous days: {baseline:.0%})"
        ),
    )


def _engagement_drop(
    context: _Context, today: DayFigures, previous: Sequence[DayFigures]
) -> CommunityAlert | None:
    limits = context.limits
    if not day_complete(today.activity_date, context.interval_end):
        return None
    observed = today.engagements_per_post
    if observed is None or not today.posts:
        return None
    baseline, baseline_window = _baseline(
        context, today.activity_date, previous, "engagements_per_post"
    )
    if baseline is None or baseline <= 0:
        return None
    observed = float(observed)
    drop = 1 - observed / baseline
    if drop < limits.engagement_drop_share:
        return None
    return context.alert(
        "engagement_drop",
        today.community_id,
        today.activity_date.isoformat(),
        critical=drop >= min(1.0, limits.engagement_drop_share * limits.critical_factor),
        metric="engagements_per_post",
        observed=observed,
        baseline=baseline,
        threshold=round(baseline * (1 - limits.engagement_drop_share), 4),
        window=_day_window(today.activity_date),
        baseline_window=baseline_window,
        summary=(
            f"{observed:.2f} engagements per post on {today.activity_date}, down {drop:.0%} "
            f"from {baseline:.2f} on the previous days"
        ),
    )


def _brand_voice(
    context: _Context, today: DayFigures, previous: Sequence[DayFigures]
) -> CommunityAlert | None:
    limits = context.limits
    observed = today.brand_voice_share
    if observed is None or float(observed) <= limits.brand_voice_max:
        return None
    observed = float(observed)
    baseline, baseline_window = _baseline(
        context, today.activity_date, previous, "brand_voice_share"
    )
    return context.alert(
        "brand_voice_too_high",
        today.community_id,
        today.activity_date.isoformat(),
        critical=observed >= min(1.0, limits.brand_voice_max * limits.critical_factor),
        metric="brand_voice_share",
        observed=observed,
        baseline=baseline,
        threshold=limits.brand_voice_max,
        window=_day_window(today.activity_date),
        baseline_window=baseline_window if baseline is not None else None,
        summary=(
            f"the brand and moderators wrote {observed:.0%} of posts and comments on "
            f"{today.activity_date} (limit {limits.brand_voice_max:.0%})"
        ),
    )


def _unanswered(context: _Context, ideas: Iterable[IdeaResponse]) -> list[CommunityAlert]:
    limits = context.limits
    as_of = context.interval_end
    wait = timedelta(days=limits.idea_unanswered_days)
    threshold_hours = limits.idea_unanswered_days * 24
    alerts = []
    for idea in ideas:
        submitted = parse_moment(idea.submitted_at, f"submitted_at of idea {idea.idea_id}")
        answered = idea.first_response_at is not None and idea.first_response_at < as_of
        if answered or submitted > as_of - wait:
            continue
        hours = (as_of - submitted).total_seconds() / 3600
        alerts.append(
            context.alert(
                "idea_unanswered",
                idea.community_id,
                idea.idea_id,
                critical=hours >= threshold_hours * limits.critical_factor,
                metric="hours_unanswered",
                observed=hours,
                baseline=None,
                threshold=threshold_hours,
                window=TimeWindow(start=submitted, end=as_of),
                baseline_window=None,
                idea_id=idea.idea_id,
                summary=(
                    f"idea {idea.idea_id} has waited {hours / 24:.1f} days for a first response "
                    f"(limit {limits.idea_unanswered_days:g} days)"
                ),
            )
        )
    return alerts
