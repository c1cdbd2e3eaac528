"""The outbound contract of `community.incidents.v1`, as a pydantic v2 model.

docs/contracts.md ("Outbound topics") is the source of these rules. Keyed by `community_id`
(UTF-8), so a community's messages stay in order; values are one JSON object each. The JSON
Schema is generated from this model and committed beside the others (`pulse schemas --write`).

An incident is a condition that held in a community (one per community and type while it lasts,
one per idea for idea_unanswered): the rows of the mart `fct_alert_incidents`, where the rule is
stated. Each incident has up to three lifecycle events, each sent once as one message:
`opened`, `escalated` (it became critical after opening as a warning) and `resolved`.
`message_id` is a UUIDv5 of the incident id and the event, so a retried or re-run interval
sends nothing new; a consumer that deduplicates on `message_id` is safe even if a crash makes
the publisher send one twice. An incident whose opening the data no longer supports (late
events, an erasure) is resolved with `resolution = withdrawn`.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, TypeAdapter, model_validator

from streaming.outbound import ALERT_TYPES, CommunityId, Severity, _Message

INCIDENT_EVENTS = ("opened", "escalated", "resolved")
# The alert types, and the one only incidents have: core members going quiet, judged by ISO week
# (the deprecated alerts topic never carried it).
INCIDENT_TYPES = (*ALERT_TYPES, "core_members_quiet")
IncidentType = Literal[
    "negative_sentiment_spike",
    "engagement_drop",
    "brand_voice_too_high",
    "idea_unanswered",
    "core_members_quiet",
]
IncidentEventType = Literal["opened", "escalated", "resolved"]
Resolution = Literal["condition_ended", "responded", "withdrawn"]


class IncidentEvent(_Message):
    """`community.incidents.v1`: one lifecycle event of one incident.

    The figures (`observed`, `baseline`, `days_held`, `last_seen_at`) are the incident's as of
    the run that sends the message; `severity` is the incident's at the event.
    """

    schema_version: Literal[1] = Field(default=1, description="Version of this message schema.")
    message_id: UUID = Field(
        description="Deterministic: UUIDv5 of the incident id and the event. Deduplicate on it."
    )
    event: IncidentEventType = Field(description="What happened to the incident.")
    event_at: AwareDatetime = Field(
        description="When it happened in the data: opened_at, escalated_at or resolved_at."
    )
    incident_id: UUID = Field(
        description="The incident (fct_alert_incidents.incident_id): the same in every message "
        "about it."
    )
    alert_type: IncidentType = Field(description="What holds.")
    severity: Severity = Field(description="The incident's severity at this event.")
    community_id: CommunityId = Field(description="The community (the message key).")
    brand_id: str | None = Field(default=None, description="The community's brand, if known.")
    idea_id: str | None = Field(
        default=None, max_length=128, description="For idea_unanswered: the idea."
    )
    metric: str = Field(min_length=1, description="The figure observed, e.g. negative_share.")
    observed: float | None = Field(description="The figure at the incident's peak.")
    baseline: float | None = Field(
        description="What it is held against (the community's own baseline), if any."
    )
    days_held: int = Field(
        ge=0,
        description="Days on which the condition held so far (seven per week held, for "
        "core_members_quiet).",
    )
    opened_at: AwareDatetime = Field(description="When the incident opened.")
    escalated_at: AwareDatetime | None = Field(description="When it became critical, if it did.")
    last_seen_at: AwareDatetime = Field(
        description="The end of the last day it held (of the last week, for core_members_quiet)."
    )
    resolved_at: AwareDatetime | None = Field(description="When it resolved, if it did.")
    resolution: Resolution | None = Field(
        default=None,
        description="On resolved: condition_ended, responded (an idea got its answer) or "
        "withdrawn (the data no longer supports the incident).",
    )
    summary: str = Field(min_length=1, description="One line for humans.")
    run_id: str = Field(min_length=1, description="The pipeline run that sent the message.")
    data_interval_start: AwareDatetime = Field(description="Start of the run's data interval.")
    data_interval_end: AwareDatetime = Field(description="End (exclusive) of the data interval.")

    @model_validator(mode="after")
    def _consistent(self) -> IncidentEvent:
        if (self.event == "resolved") != (self.resolution is not None):
            raise ValueError("resolution is set exactly on resolved events")
        if self.event == "escalated" and self.severity != "critical":
            raise ValueError("an escalation makes an incident critical")
        return self


INCIDENTS_ADAPTER: TypeAdapter[IncidentEvent] = TypeAdapter(IncidentEvent)
