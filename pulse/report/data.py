"""The figures the report shows, as plain values: what reading produces and rendering takes.

Nothing here touches the database, so a page can be rendered from figures built by hand (the
unit tests do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple


class Community(NamedTuple):
    """One community of marts.dim_community."""

    community_id: str
    brand_id: str | None
    name: str
    kind: str | None
    is_suppressed: bool
    members_current: int | None


class DailyFigures(NamedTuple):
    """One shown (not suppressed) community-day of fct_community_daily."""

    community_id: str
    day: date
    posts: int
    comments: int
    engagements_per_post: float | None
    brand_voice_share: float | None
    avg_sentiment: float | None
    negative_share: float | None


class WeeklyEngagement(NamedTuple):
    """A community's engagement rate pooled over the shown days of one week."""

    community_id: str
    week_start: date
    engagement_rate: float


class LiftWeek(NamedTuple):
    """One brand-week of fct_brand_engagement_lift: micro vs broad rates and their ratio."""

    brand_id: str
    week_start: date
    is_suppressed: bool
    micro_posts: int | None
    broad_posts: int | None
    micro_rate: float | None
    micro_lower: float | None
    micro_upper: float | None
    broad_rate: float | None
    broad_lower: float | None
    broad_upper: float | None
    lift: float | None
    lift_lower: float | None
    lift_upper: float | None
    small_group_share: float | None


class RetentionPoint(NamedTuple):
    """A join-week cohort's retained share, pooled over the communities of one kind."""

    community_kind: str
    cohort_week: date
    weeks_since_join: int
    retained_share: float
    cohort_members: int


class BrandVoice(NamedTuple):
    """A community's brand voice share over the brand-voice window."""

    community_id: str
    share: float
    posts_and_comments: int


class Idea(NamedTuple):
    """One idea of the feedback portal (fct_feedback_ideas)."""

    community_id: str
    current_status: str
    decision_status: str | None
    hours_to_first_response: float | None
    hours_to_decision: float | None


class Incident(NamedTuple):
    """One incident of fct_alert_incidents: a condition that held in a community, and for how long.

    `observed` and `baseline` are the figures at the peak (`peak_on`), in the unit `metric`
    names; an idea's incident has no baseline.
    """

    community_id: str
    brand_id: str | None
    idea_id: str | None
    alert_type: str
    status: str
    severity: str
    resolution: str | None
    metric: str
    observed: float | None
    baseline: float | None
    days_held: int
    peak_on: date | None
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def window_end(self) -> datetime:
        """Where its window ends: when it resolved, or the end of the last day seen while open."""
        return self.resolved_at or self.last_seen_at


class TopicWeek(NamedTuple):
    """One tag of one community in one week (fct_community_topics_weekly)."""

    community_id: str
    week_start: date
    tag: str
    posts: int
    engagements: int | None
    share_of_posts: float | None
    engagements_per_post: float | None
    posts_previous_4_weeks_avg: float | None
    is_rising: bool


class DeadLetterReason(NamedTuple):
    """The dead letters of one reason: how many, when, how many replayed."""

    reason: str
    count: int
    first_received_at: datetime
    last_received_at: datetime
    replayed: int


@dataclass
class ReportData:
    """Everything the page shows, already read: rendering needs no database."""

    generated_at: datetime
    read_as: str
    build: str | None
    min_group_size: int
    communities: list[Community]
    daily: list[DailyFigures]
    weekly_engagement: list[WeeklyEngagement]
    lift: list[LiftWeek]
    retention: list[RetentionPoint]
    brand_voice: list[BrandVoice]
    brand_voice_window: tuple[date, date] | None
    ideas: list[Idea]
    incidents: list[Incident]
    topics: list[TopicWeek]
    dead_letters: list[DeadLetterReason] | None
    events_stored: int | None
    dead_letters_source: str
    first_day: date | None = None
    last_day: date | None = None
    # A brand's report (`pulse report --brand`): read as that brand's role, one brand's rows.
    brand: str | None = None
