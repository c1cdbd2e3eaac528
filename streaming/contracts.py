"""The inbound contract of `community.events.v1`, as pydantic v2 models.

docs/contracts.md ("Inbound topic") is the source of these rules. Unknown envelope and payload
fields are ignored (forward compatible); an unknown `event_type` is invalid. Strings that reach
the warehouse may not hold NUL characters: PostgreSQL text and jsonb cannot store them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    model_validator,
)


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    if value.isascii():  # the common case, checked in O(1): no surrogate can be in it
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("lone surrogates are not valid Unicode text") from None
    return value


def _stored(max_length: int, min_length: int = 1) -> type[str]:
    """A string that is stored in the warehouse: bounded, NUL-free."""
    return Annotated[  # type: ignore[return-value]
        str, Field(min_length=min_length, max_length=max_length), AfterValidator(_storable)
    ]


# RFC 3339 with an offset; pydantic alone would also take epoch numbers and numeric strings.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _timestamp(value: Any) -> datetime:
    # One validator instead of three steps (text check, aware datetime, not before 1970): this
    # runs for every event. The pattern requires an offset, so the result is always aware.
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 timestamp with offset, e.g. 2026-11-02T13:04:05Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not a valid date and time") from None
    return _not_ancient(parsed)


def _not_bool(value: Any) -> Any:
    # JSON true is not the number 1, whatever Python's bool says.
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _not_ancient(value: datetime) -> datetime:
    # Community events before the Unix epoch are corrupt clocks; year-1 values with a positive
    # offset would even be stored as BC dates no client can read back.
    try:
        too_old = value.astimezone(UTC).year < 1970
    except OverflowError:  # past either end of datetime's range once in UTC
        too_old = value.year < 1970
    if too_old:
        raise ValueError("must not be before 1970-01-01T00:00:00Z")
    return value


def _platform(value: str) -> str:
    # The platform is part of the member key ("platform:member_id"): "Discord " and "discord" must
    # give the same key, and a ':' inside it would let two different pairs give the same text.
    normalized = value.strip().lower()
    if not normalized:
        raise ValueError("must not be blank")
    if ":" in normalized:
        raise ValueError("must not contain ':' (the separator of the member key)")
    return _storable(normalized)


# Documented as what it is: an RFC 3339 date-time string (the JSON Schema of AwareDatetime).
Timestamp = Annotated[datetime, PlainValidator(_timestamp, json_schema_input_type=AwareDatetime)]
CommunityId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]  # COMMUNITY_ID_PATTERN
Identifier = _stored(128)
MemberId = _stored(128)  # hashed, never stored as sent
FreeText = Annotated[str, Field(max_length=10_000)]  # used for sentiment, then dropped
Sentiment = Annotated[float, Field(ge=-1.0, le=1.0), BeforeValidator(_not_bool)]
# A count from the platform: a JSON integer (strict: no booleans, floats or numeric strings), at
# most 2^53 - 1 so every JSON reader holds it exactly and it fits PostgreSQL's bigint.
Count = Annotated[int, Field(ge=0, le=2**53 - 1), BeforeValidator(_not_bool)]
AuthorRole = Literal["member", "brand", "moderator"]
Platform = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[^:]+$",
        description="Trimmed and lower-cased at ingest; may not contain ':'.",
    ),
    AfterValidator(_platform),
]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class CommunityUpserted(_Payload):
    name: _stored(200)
    kind: Literal["micro", "broad"]
    brand_id: Identifier
    topic: _stored(100)
    visibility: Literal["public", "private"]
    # The platform's own member or follower count, when the producer knows it. It counts people
    # the stream may never show (members from before the producer was connected, lurkers).
    audience_size: Count | None = None


class MemberJoined(_Payload):
    source: Literal["organic", "invite", "brand_campaign", "search"]


class EmptyPayload(_Payload):
    """`member.left` and `member.erased` carry nothing."""


class PostCreated(_Payload):
    post_id: Identifier
    author_role: AuthorRole
    content_type: Literal["text", "image", "video", "link", "live_class", "event"]
    text: FreeText | None = None
    sentiment: Sentiment | None = None
    tags: Annotated[list[_stored(64)], Field(max_length=20)] | None = None


class CommentCreated(_Payload):
    comment_id: Identifier
    post_id: Identifier
    parent_comment_id: Identifier | None = None
    author_role: AuthorRole
    text: FreeText | None = None
    sentiment: Sentiment | None = None


class ReactionChanged(_Payload):
    target_type: Literal["post", "comment", "idea"]
    target_id: Identifier
    reaction: Literal["like", "love", "insightful", "funny", "sad", "angry"]


class ContentShared(_Payload):
    post_id: Identifier
    destination: Literal["internal", "external"]


class FeedbackSubmitted(_Payload):
    idea_id: Identifier
    title: _stored(200)
    category: _stored(64)
    text: FreeText | None = None
    sentiment: Sentiment | None = None


class FeedbackVoted(_Payload):
    idea_id: Identifier
    direction: Literal["up", "down"]


class FeedbackStatusChanged(_Payload):
    idea_id: Identifier
    status: Literal["under_review", "accepted", "implemented", "declined"]
    by_role: Literal["brand", "moderator"]


PAYLOADS: dict[str, type[_Payload]] = {
    "community.upserted": CommunityUpserted,
    "member.joined": MemberJoined,
    "member.left": EmptyPayload,
    "post.created": PostCreated,
    "comment.created": CommentCreated,
    "reaction.added": ReactionChanged,
    "reaction.removed": ReactionChanged,
    "content.shared": ContentShared,
    "feedback.submitted": FeedbackSubmitted,
    "feedback.voted": FeedbackVoted,
    "feedback.status_changed": FeedbackStatusChanged,
    "member.erased": EmptyPayload,
}
EVENT_TYPES: frozenset[str] = frozenset(PAYLOADS)
TYPES_WITHOUT_MEMBER: frozenset[str] = frozenset({"community.upserted"})
TYPES_WITH_TEXT: frozenset[str] = frozenset(
    {"post.created", "comment.created", "feedback.submitted"}
)


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    event_id: UUID
    schema_version: Annotated[Literal[1], BeforeValidator(_not_bool)]
    occurred_at: Timestamp
    community_id: CommunityId
    member_id: MemberId | None = None
    platform: Platform | None = None

    @model_validator(mode="after")
    def _member_required(self) -> _Envelope:
        if self.member_id is None and self.event_type not in TYPES_WITHOUT_MEMBER:  # type: ignore[attr-defined]
            raise ValueError(f"member_id is required for {self.event_type}")  # type: ignore[attr-defined]
        return self


class CommunityUpsertedEvent(_Envelope):
    """`community.upserted`."""

    event_type: Literal["community.upserted"]
    payload: CommunityUpserted


class MemberJoinedEvent(_Envelope):
    """`member.joined`."""

    event_type: Literal["member.joined"]
    payload: MemberJoined


class MemberLeftEvent(_Envelope):
    """`member.left`."""

    event_type: Literal["member.left"]
    payload: EmptyPayload


class PostCreatedEvent(_Envelope):
    """`post.created`."""

    event_type: Literal["post.created"]
    payload: PostCreated


class CommentCreatedEvent(_Envelope):
    """`comment.created`."""

    event_type: Literal["comment.created"]
    payload: CommentCreated


class ReactionAddedEvent(_Envelope):
    """`reaction.added`."""

    event_type: Literal["reaction.added"]
    payload: ReactionChanged


class ReactionRemovedEvent(_Envelope):
    """`reaction.removed`."""

    event_type: Literal["reaction.removed"]
    payload: ReactionChanged


class ContentSharedEvent(_Envelope):
    """`content.shared`."""

    event_type: Literal["content.shared"]
    payload: ContentShared


class FeedbackSubmittedEvent(_Envelope):
    """`feedback.submitted`."""

    event_type: Literal["feedback.submitted"]
    payload: FeedbackSubmitted


class FeedbackVotedEvent(_Envelope):
    """`feedback.voted`."""

    event_type: Literal["feedback.voted"]
    payload: FeedbackVoted


class FeedbackStatusChangedEvent(_Envelope):
    """`feedback.status_changed`."""

    event_type: Literal["feedback.status_changed"]
    payload: FeedbackStatusChanged


class MemberErasedEvent(_Envelope):
    """`member.erased`."""

    event_type: Literal["member.erased"]
    payload: EmptyPayload


InboundEvent = Annotated[
    CommunityUpsertedEvent
    | MemberJoinedEvent
    | MemberLeftEvent
    | PostCreatedEvent
    | CommentCreatedEvent
    | ReactionAddedEvent
    | ReactionRemovedEvent
    | ContentSharedEvent
    | FeedbackSubmittedEvent
    | FeedbackVotedEvent
    | FeedbackStatusChangedEvent
    | MemberErasedEvent,
    Field(discriminator="event_type"),
]
INBOUND_ADAPTER: TypeAdapter[InboundEvent] = TypeAdapter(InboundEvent)

# What a dead letter may keep of a rejected value (streaming/redact.py): the contract's own fields,
# so a producer's extra field (an email, a nested author object) is dropped, never stored.
ENVELOPE_FIELDS: frozenset[str] = frozenset(MemberJoinedEvent.model_fields)
PAYLOAD_FIELDS: dict[str, frozenset[str]] = {
    event_type: frozenset(model.model_fields) for event_type, model in PAYLOADS.items()
}
ANY_PAYLOAD_FIELDS: frozenset[str] = frozenset().union(*PAYLOAD_FIELDS.values())
FREE_TEXT_FIELDS: frozenset[str] = frozenset({"text"})  # kept as their length only
COMMUNITY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
