"""The inbound contract of `community.events.v1`, as pydantic v2 models.

docs/contracts.md ("Inbound topic") is the source of these rules. Unknown envelope and payload
fields are ignored (forward compatible); an unknown `event_type` is invalid. Strings that reach
the warehouse may not hold NUL characters: PostgreSQL text and jsonb cannot store them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    TypeAdapter,
)
from pydantic_core import CoreSchema, core_schema

# Every rule below is one pydantic-core checks by itself: a Python validator is a call out of
# pydantic-core's Rust for each value of each event, and they took a quarter of validation's time
# (README, "Benchmarks"). Strings from JSON cannot hold lone surrogates (the parser refuses
# them), nor can Python strings that get to a pattern (pydantic-core refuses them first).
NO_NUL = r"^[^\x00]*$"
# RFC 3339 with an offset; pydantic alone would also take epoch numbers, a missing offset or
# missing seconds.
RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
# The platform is part of the member key ("platform:member_id"), so ':' would let two different
# pairs give the same text. Control characters are no platform's name, and refusing them keeps
# pydantic's trim equal to Python's str.strip, which dead letters use for their member key
# (streaming/redact.py): str.strip also trims \x1c-\x1f, Rust's trim does not.
PLATFORM = r"^[^:\x00-\x1f\x7f]+$"
COMMUNITY_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What a dead letter says when a value misses one of these patterns (pydantic would quote the
# pattern itself).
PATTERN_MESSAGES = {
    NO_NUL: "NUL characters are not allowed",
    PLATFORM: "must not contain ':' (the separator of the member key) or control characters",
    COMMUNITY_ID: "must be 1-64 characters of A-Z, a-z, 0-9 and _ . : -",
}


@dataclass(frozen=True)
class _Native:
    """A field type given as pydantic-core's own schema, with the JSON Schema it publishes."""

    core: CoreSchema
    json: dict[str, Any]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return self.core

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return dict(self.json)


def _stored(max_length: int, min_length: int = 1) -> type[str]:
    """A string that is stored in the warehouse: bounded, NUL-free."""
    return Annotated[  # type: ignore[return-value]
        str, Field(min_length=min_length, max_length=max_length, pattern=NO_NUL)
    ]


def _message(error_type: str, message: str, schema: CoreSchema) -> CoreSchema:
    return core_schema.custom_error_schema(
        schema, custom_error_type=error_type, custom_error_message=message
    )


# Text first, so only RFC 3339 gets through; then pydantic's parser (the text is well formed, so
# what fails here is a date or time that does not exist) and the lower bound: community events
# before the Unix epoch are corrupt clocks, and year-1 values with a positive offset would even be
# stored as BC dates no client can read back. The bound compares instants: 1970-01-01T00:30+01:00
# is before it.
Timestamp = Annotated[
    datetime,
    _Native(
        core_schema.chain_schema(
            [
                _message(
                    "timestamp_format",
                    "must be an RFC 3339 timestamp with offset, e.g. 2026-11-02T13:04:05Z",
                    core_schema.str_schema(pattern=RFC3339, strict=True),
                ),
                _message(
                    "timestamp_value",
                    "must be a date and time that exists, not before 1970-01-01T00:00:00Z",
                    core_schema.datetime_schema(strict=False, tz_constraint="aware", ge=EPOCH),
                ),
            ]
        ),
        {"type": "string", "format": "date-time", "pattern": RFC3339},
    ),
]
# An integer (JSON true and 1.0 are not) that is 1.
SchemaVersion = Annotated[
    int,
    _Native(
        core_schema.chain_schema(
            [core_schema.int_schema(strict=True), core_schema.literal_schema([1])]
        ),
        {"type": "integer", "const": 1},
    ),
]
CommunityId = Annotated[str, Field(pattern=COMMUNITY_ID)]
Identifier = _stored(128)
MemberId = _stored(128)  # hashed, never stored as sent
FreeText = Annotated[str, Field(max_length=10_000)]  # used for sentiment, then dropped
# Strict (the models' config): a JSON boolean is not a number, whatever Python's bool says.
Sentiment = Annotated[float, Field(ge=-1.0, le=1.0)]
# A count from the platform: a JSON integer (strict: no booleans, floats or numeric strings), at
# most 2^53 - 1 so every JSON reader holds it exactly and it fits PostgreSQL's bigint.
Count = Annotated[int, Field(ge=0, le=2**53 - 1)]
# Free text and a sent sentiment never reach the payload column (docs/contracts.md, "Privacy"):
# the text is kept as its length and score, the sentiment in a column of its own. Excluded
# here, the payload serialises without them and with no exclusion set passed for each event.
DroppedText = Annotated[FreeText | None, Field(exclude=True)]
SentSentiment = Annotated[Sentiment | None, Field(exclude=True)]
AuthorRole = Literal["member", "brand", "moderator"]
# Trimmed and lower-cased before the checks: "Discord " and "discord" give the same member key,
# and blank is invalid.
Platform = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=32, pattern=PLATFORM
    ),
    Field(
        description="Trimmed and lower-cased at ingest; may not contain ':' or control characters."
    ),
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
    text: DroppedText = None
    sentiment: SentSentiment = None
    tags: Annotated[list[_stored(64)], Field(max_length=20)] | None = None


class CommentCreated(_Payload):
    comment_id: Identifier
    post_id: Identifier
    parent_comment_id: Identifier | None = None
    author_role: AuthorRole
    text: DroppedText = None
    sentiment: SentSentiment = None


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
    text: DroppedText = None
    sentiment: SentSentiment = None


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
    schema_version: SchemaVersion
    occurred_at: Timestamp
    community_id: CommunityId
    # Required by the type itself (the one exception overrides it), not by a check after
    # validation: no Python call per event, and the published schema says so.
    member_id: MemberId
    platform: Platform | None = None


class CommunityUpsertedEvent(_Envelope):
    """`community.upserted`."""

    event_type: Literal["community.upserted"]
    payload: CommunityUpserted
    member_id: MemberId | None = None  # a community has no member (TYPES_WITHOUT_MEMBER)


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
COMMUNITY_ID_PATTERN = re.compile(COMMUNITY_ID)
