"""The outbound contracts: `community.metrics.v1` and `community.alerts.v1`, as pydantic v2 models.

docs/contracts.md ("Outbound topics") is the source of these rules. Both topics are keyed by
`community_id` (UTF-8), values are one JSON object each. Their JSON Schemas are generated from
these models and committed beside the inbound one (`pulse schemas --write`); a test fails when
they drift.

Consumers should expect:
- metrics: one message per community per UTC day touched by a run's data interval. A later run
  that touches the same day sends it again with newer figures; the latest message for a
  (community_id, activity_date) wins. A retried or re-run interval sends identical messages.
- alerts: `alert_id` is derived from what the alert is about (type, community, day or idea), never
  from the run, so an interval that is retried or re-run finds the same ids; the pipeline sends
  each id once, and a consumer that deduplicates on `alert_id` is safe even if a crash makes it
  send one twice.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

CommunityId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Count = Annotated[int, Field(ge=0)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]

ALERT_TYPES = (
    "negative_sentiment_spike",
    "engagement_drop",
    "brand_voice_too_high",
    "idea_unanswered",
)
AlertType = Literal[
    "negative_sentiment_spike", "engagement_drop", "brand_voice_too_high", "idea_unanswered"
]
Severity = Literal["warning", "critical"]


class _Message(BaseModel):
    # Producers are ours: an unknown field is a bug, not forward compatibility.
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeWindow(_Message):
    """A half-open period [start, end) in UTC."""

    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class CommunityDailyMetrics(_Message):
    """`community.metrics.v1`: one community's figures for one UTC day, as of one pipeline run.

    Figures are those of the `fct_community_daily` mart (see its documentation for definitions).
    When fewer than PULSE_MIN_GROUP_SIZE members were active that day, `is_suppressed` is true
    and every member-derived figure is null.
    """

    schema_version: Literal[1] = Field(default=1, description="Version of this message schema.")
    community_id: CommunityId = Field(description="The community (the message key).")
    activity_date: date = Field(description="The UTC day the figures are for.")
    day_complete: bool = Field(
        description="True when the day had ended by data_interval_end (figures of a day still "
        "in progress grow in later messages)."
    )
    run_id: str = Field(min_length=1, description="The pipeline run that computed the figures.")
    data_interval_start: AwareDatetime = Field(description="Start of the run's data interval.")
    data_interval_end: AwareDatetime = Field(description="End (exclusive) of the data interval.")
    is_suppressed: bool = Field(description="Too few active members: member figures are null.")
    members_total: Count | None = Field(
        description="Members on the day: everyone seen in the community (or joined) and not gone "
        "before the day began."
    )
    members_new: Count | None = Field(
        description="Memberships that started that day (a join, or a first action with no join)."
    )
    members_left: Count | None = Field(description="Memberships that ended that day.")
    active_members: Count | None = Field(description="DAU: distinct members active that day.")
    wau: Count | None = Field(description="Distinct members active on the 7 days ending then.")
    mau: Count | None = Field(description="Distinct members active on the 30 days ending then.")
    stickiness: Share | None = Field(description="DAU / MAU.")
    posts: Count | None = Field(description="Posts created that day.")
    comments: Count | None = Field(description="Comments written that day.")
    reactions: Count | None = Field(description="Reactions added that day.")
    shares: Count | None = Field(description="Shares made that day.")
    ugc_posts: Count | None = Field(description="Posts created by members.")
    brand_posts: Count | None = Field(description="Posts created by the brand or moderators.")
    brand_voice_share: Share | None = Field(
        description="Brand and moderator posts and comments / all posts and comments of the day."
    )
    engagements: Count | None = Field(description="Engagements received by the day's posts.")
    engagements_per_post: NonNegative | None = Field(description="engagements / posts.")
    engagement_rate: NonNegative | None = Field(
        description="engagements / (posts x members at the start of the day)."
    )
    avg_sentiment: Annotated[float, Field(ge=-1.0, le=1.0)] | None = Field(
        description="Mean sentiment (-1..1) of the day's posts and comments."
    )
    negative_share: Share | None = Field(
        description="Share of the day's scored posts and comments with sentiment <= -0.05."
    )
    median_first_response_minutes: NonNegative | None = Field(
        description="Median minutes from a post of the day to its first response by another."
    )

    @model_validator(mode="after")
    def _interval_ordered(self) -> CommunityDailyMetrics:
        if self.data_interval_end <= self.data_interval_start:
            raise ValueError("data_interval_end must be after data_interval_start")
        return self


class CommunityAlert(_Message):
    """`community.alerts.v1`: something a community team should look at.

    `observed` is the figure that crossed `threshold`; `baseline` is what it is compared with
    (the trailing average of the previous days), null when the rule has none.
    """

    schema_version: Literal[1] = Field(default=1, description="Version of this message schema.")
    alert_id: UUID = Field(
        description="Deterministic: the same alert (type, community, day or idea) always has "
        "the same id, whichever run finds it. Deduplicate on it."
    )
    alert_type: AlertType = Field(description="What was detected.")
    severity: Severity = Field(description="critical: the figure is far past its threshold.")
    community_id: CommunityId = Field(description="The community (the message key).")
    subject: str = Field(
        min_length=1,
        max_length=128,
        description="What the alert is about: the UTC day (YYYY-MM-DD), or the idea id.",
    )
    metric: str = Field(min_length=1, description="The figure observed, e.g. negative_share.")
    observed: float = Field(description="The figure's value.")
    baseline: float | None = Field(description="The value it is compared with, if any.")
    threshold: float = Field(description="The limit the rule applies (from settings).")
    window: TimeWindow = Field(description="The period the observed figure covers.")
    baseline_window: TimeWindow | None = Field(
        description="The period the baseline covers, if any."
    )
    idea_id: str | None = Field(
        default=None, max_length=128, description="For idea_unanswered: the idea."
    )
    summary: str = Field(min_length=1, description="One line for humans.")
    run_id: str = Field(min_length=1, description="The pipeline run that found the alert.")
    data_interval_start: AwareDatetime = Field(description="Start of the run's data interval.")
    data_interval_end: AwareDatetime = Field(description="End (exclusive) of the data interval.")


METRICS_ADAPTER: TypeAdapter[CommunityDailyMetrics] = TypeAdapter(CommunityDailyMetrics)
ALERTS_ADAPTER: TypeAdapter[CommunityAlert] = TypeAdapter(CommunityAlert)
