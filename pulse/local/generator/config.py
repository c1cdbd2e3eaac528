"""What to generate and what comes out: `GeneratorConfig`, `GeneratedMessage` and the units
every part of the generator shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

MessageKind = Literal["valid", "duplicate", "invalid"]

# Times are whole milliseconds since the epoch throughout: integer arithmetic on the hot paths,
# turned into RFC 3339 text only when an event is written.
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
# For the oversized invalid message and the producer's request limit, which must let it through.
MIB = 1024 * 1024

# What `GeneratorConfig.brownfield()` sets: a community that existed long before the pipeline
# connected (most members are already there) with a few power users.
BROWNFIELD_PREEXISTING_SHARE = 0.7
BROWNFIELD_HEAVY_ENGAGER_SHARE = 0.05
# Planted incidents need room: a baseline before each window and days after it to resolve.
PLANT_MIN_DAYS = 30


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. Same config (with an explicit `end`) => identical messages.

    Attributes:
        seed: Seed of the single random generator everything is drawn from.
        events: Approximate number of valid, unique events: within 10% from about 1,000 up;
            tiny runs still announce every community and its members.
        days: Span of `occurred_at`, ending at `end`.
        end: UTC end of the span (exclusive). Default: today's midnight UTC. Naive values are
            taken as UTC.
        brands: Number of brands.
        invalid_share: Share of all messages that are invalid.
        duplicate_share: Share of valid messages sent a second time.
        micro_lift: Target ratio of per-member engagement rate per post, micro vs broad.
        preexisting_share: Share of each community's regular (non-staff) members who were
            members before the span: they never send `member.joined`, are present from the
            start, and may leave (`member.left` without a join).
        heavy_engager_share: Share of active (non-lurking) members who engage several times
            with each post they engage with (several reactions and comments on one thread).
        plant_incidents: Plant incidents with known windows (`pulse.local.generator.planted`):
            per brand a sentiment crisis, an engagement collapse and a brand overposting spell
            in a micro community and a stretch of late-answered ideas in a broad one, every
            other idea answered within days, in one micro community the most active members
            silent for two weeks, and a tiny community with a few negative posts (a control
            that must open nothing). Off by default: the stream is then exactly
            the same as without the option. Needs `days` >= 30.

    `GeneratorConfig.brownfield()` sets both to the shape of a community that existed before
    the pipeline was connected.
    """

    seed: int = 42
    events: int = 20_000
    days: int = 60
    end: datetime | None = None
    brands: int = 3
    invalid_share: float = 0.005
    duplicate_share: float = 0.01
    micro_lift: float = 6.0
    preexisting_share: float = 0.0
    heavy_engager_share: float = 0.0
    plant_incidents: bool = False

    @classmethod
    def brownfield(cls, **overrides: Any) -> GeneratorConfig:
        """The real-world shape: most members predate the span, a few engage heavily.

        `preexisting_share` 0.7 and `heavy_engager_share` 0.05 unless overridden.
        """
        values: dict[str, Any] = {
            "preexisting_share": BROWNFIELD_PREEXISTING_SHARE,
            "heavy_engager_share": BROWNFIELD_HEAVY_ENGAGER_SHARE,
        }
        values.update(overrides)
        return cls(**values)

    def __post_init__(self) -> None:
        if self.events < 1:
            raise ValueError("events must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.brands < 1:
            raise ValueError("brands must be at least 1")
        if not 0.0 <= self.invalid_share < 1.0:
            raise ValueError("invalid_share must be in [0, 1)")
        if not 0.0 <= self.duplicate_share <= 1.0:
            raise ValueError("duplicate_share must be in [0, 1]")
        if self.micro_lift <= 0:
            raise ValueError("micro_lift must be positive")
        if not 0.0 <= self.preexisting_share <= 1.0:
            raise ValueError("preexisting_share must be in [0, 1]")
        if not 0.0 <= self.heavy_engager_share <= 1.0:
            raise ValueError("heavy_engager_share must be in [0, 1]")
        if self.plant_incidents and self.days < PLANT_MIN_DAYS:
            raise ValueError(f"plant_incidents needs days >= {PLANT_MIN_DAYS}")


@dataclass(frozen=True, slots=True)
class GeneratedMessage:
    """One Kafka message of the inbound topic, with what the pipeline should make of it.

    Attributes:
        key: Message key (the community id, UTF-8).
        value: Message value (UTF-8 JSON, except for some invalid messages).
        kind: `valid`, `duplicate` (a resend of an earlier valid message) or `invalid`.
        event_id: The event id of valid and duplicate messages.
        reason: For invalid messages, the dead-letter reason the consumer should give.
    """

    key: bytes | None
    value: bytes | None
    kind: MessageKind
    event_id: str | None = None
    reason: str | None = None


def expected_messages(config: GeneratorConfig) -> int:
    """Roughly how many messages `generate(config)` yields (for progress bars)."""
    sent = config.events * (1 + config.duplicate_share)
    return int(sent / (1 - config.invalid_share))
