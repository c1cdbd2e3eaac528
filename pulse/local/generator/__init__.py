"""Seeded generator of realistic micro-community traffic for `community.events.v1`.

Used by `pulse generate`, the demo (200k events over 60 days), the tests (20k events) and the
benchmarks (1M events). The same `GeneratorConfig` (seed, end, sizes, shares) always yields the same
messages, byte for byte; the valid events do not depend on `invalid_share` or `duplicate_share`.

What the data looks like (tests check these claims on the generated events). The defaults give a
community that starts with the span ("greenfield"); `GeneratorConfig.brownfield()` gives what a
real deployment sees, a community that had its members long before (`preexisting_share` 0.7)
with a few heavy engagers (`heavy_engager_share` 0.05). The defaults' valid events are the same,
byte for byte, as before these two shares existed, apart from `audience_size`.

World
    `brands` brands (`brand_1`, ...), each with 2-5 *micro* communities and 1-2 *broad* ones.
    Micro communities have 30-250 members; broad ones 10x-30x the brand's average micro size.
    Both ranges open up with `events` so small runs stay busy: micro 30-max(40, events/400)
    members (30-50 at 20k events, the full 30-250 from 100k), broad up to max(10.5, 10 +
    events/10k) times (10x-12x at 20k, 10x-30x from 200k). Should members need more than 45% of
    `events` (possible below ~10k events), every size shrinks in proportion. Community ids look
    like `brand_1.micro.plant_care`; each community is announced by `community.upserted` before
    any other event and lives on one platform (facebook, reddit, discord, brand_app). The upsert
    carries `audience_size`, the platform's member/follower count: the community's full size
    (members from before the span, joiners, members never seen) times 1.1-1.5 in micro and
    1.5-3 in broad communities (accounts that never show up), so always above the number of
    members the stream shows; it has a random generator of its own, so it is the same whatever
    the shares. Member ids look like `u12345`; each belongs to one community on one platform.
    Every community has 2-3 staff accounts (one brand account, moderators) who join first.
Members
    Every member has one `member.joined` (with source), except the `preexisting_share` of each
    community's regular (non-staff) members who were members before the span: they never join,
    are there from its first minutes and act like the others (lurkers among them), so in the
    brownfield shape ~70-75% of the regular members who act have no join. Of the joiners about a
    third join in the first two days (in proportion fewer, `1 - preexisting_share`, where the
    community already had its members: no founding rush), most of the rest over the whole span,
    brand-campaign joiners bunched around one campaign day per brand. About 10% leave
    (`member.left`); pre-existing members leave at any time of the span, so many leaves come
    without a join, some from lurkers never seen before. A few of the most active early members
    request erasure (`member.erased`) in the last 3 days, always after some activity of their
    own. Nobody acts before joining or after leaving or being erased. Most members lurk: 55-85%
    of each community never post or comment (they may react, share and vote); the others have
    Pareto(1.2) activity weights, so the top 10% of members make well over half (~90%) of all
    posts and comments.
Engagement
    For every post, each member present at posting time engages with probability `p` (a binomial
    draw): `p = 0.08` in micro communities, `0.08 / micro_lift` in broad ones. An engagement is a
    comment (28%), a share (7%; internal or external) or a reaction (65%; on the post or on one
    of its earlier comments, one per member and target). So engagements (comments + reactions
    added + shares) / (posts x members) in micro communities is about `micro_lift` times that of
    broad ones, per brand and ISO week, with members as observed (from their join or first
    activity to their leave; in the brownfield shape a little less than `micro_lift`, as members
    never seen are not counted and broad communities have more of them).
    Heavy engagers (`heavy_engager_share` of the non-lurkers) engage several times whenever they
    engage: a reaction of theirs becomes 2-5, on the post and on other people's comments of the
    thread as they come in, and a comment of theirs comes with such a round of reactions and 1-3
    more comments in the thread (each later comment theirs at 50%). On discord and brand_app,
    where a member may put several reaction kinds on one target, they do; elsewhere it stays one
    reaction per member and target, and nobody adds the same kind twice to a target. So they
    stand out: ~3-4 engagements per post they engage with (most of them 2.5 or more each), where
    everyone else averages ~1.02 and, without heavy engagers, nobody reaches 2.5. Their extra
    reactions stand in for the community's next ones, so engagements per post and member (and
    `events`) stay as calibrated.
    About 4% of reactions are removed later (`reaction.removed`: same member, target and
    reaction). The first comment comes minutes to hours after the post (log-normal, median 45
    min, whatever the thread's size), the others within hours of it; ~30% of later comments
    reply to an earlier one (`parent_comment_id`).
Posts and brand voice
    Content types vary by community (text most common); ~30% of posts have tags. Staff write
    5-40% of posts in most communities; in one micro community per brand they write ~90% of
    posts and ~50% of comments, so the brand/moderator voice there is above 50%.
Feedback portal
    Ideas (`feedback.submitted`: title, category, optional text) in every community, three times
    as many in brand_app ones; votes over the following two weeks, ~12% of voters later flip their
    vote (the last one counts); ~75% of ideas get `under_review`, then `accepted` or `declined`,
    and ~45% of accepted ones `implemented`; the rest are never answered. A few comments
    (`post_id` = the idea id) and reactions (`target_type` idea) go to ideas.
Text
    About half of posts, comments and ideas carry short English `text` built from positive,
    neutral and negative word lists (VADER scores them in all three bands); a quarter of those
    also carry an explicit `sentiment` in [-1, 1], and ~15% of items carry only a `sentiment`.
    The largest broad community of each brand turns mostly negative (85% of items) and 50%
    busier in the last 3 days.
Stream
    Days are generated one at a time and sorted by `occurred_at`; ~1% of valid events are late
    (delivered 1-2 days after they occurred, among newer events). Keys are the community id.
    Event ids are UUID4s from the seeded RNG, timestamps RFC 3339 with `+00:00`, schema_version 1,
    and nothing occurs at or after `end`. ~`duplicate_share` of valid messages are sent again
    (identical key and value) 1-20 messages later. Invalid messages make up ~`invalid_share` of
    all messages, spread evenly and cycling through `invalid_json`, `invalid_utf8`,
    `schema_violation`, `unknown_event_type` and `future_timestamp` (year 2999); with
    `events >= 5000` there is also one `oversized` value (> 1.1 MiB) per started 200k messages.

Memory stays bounded: members, and follow-ups already scheduled for the next days (comments,
reactions, votes, decisions), never the stream. 1M events took 10-14 s of CPU (71k-102k valid
events per CPU second; 11-24 s wall on a shared, busy 2-vCPU machine) and ~85 MB peak RSS, 46 MB
of it the interpreter and imports. The brownfield shape costs about the same (200k events:
~2 s of CPU either way).
"""

from __future__ import annotations

import bisect
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as dtime
from statistics import NormalDist
from typing import Any, Literal

from kafka import KafkaProducer
from kafka.errors import KafkaError
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from pulse.errors import PulseError
from streaming.contracts import EVENT_TYPES

MessageKind = Literal["valid", "duplicate", "invalid"]

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
MIB = 1024 * 1024

P_MICRO = 0.08  # per-member chance to engage with a micro-community post
COMMENT_SHARE = 0.28
SHARE_SHARE = 0.07  # of engagements; the rest are reactions
REACTION_REMOVED_SHARE = 0.04
LATE_SHARE = 0.01
REPLY_SHARE = 0.3
IDEA_EVENT_SHARE = 0.04  # of the events left after community and membership events
MAX_MEMBER_SHARE = 0.45  # members (joins) may take at most this share of the events
SPIKE_DAYS = 3
FOUNDING_SHARE = 0.35  # of joiners, in the first two days (of those who join at all)
# Members from before the span count as present from here on: after the staff accounts join (at
# 1-3 minutes) and before any newcomer (from 10 minutes).
PREEXISTING_FROM_MS = 5 * MINUTE_MS
HEAVY_REACTIONS = (2, 5)  # reactions of a heavy engager's visit to a thread (inclusive)
HEAVY_COMMENTS_AGAIN = (1, 3)  # further comments of a heavy engager who commented on a thread
HEAVY_TAKES_SLOT = 0.5  # chance they take each later comment of the thread, until done
# Reactions heavy engagers made beyond the community's share and that its next reactions still
# make up for: visits that come on top of that many wait (calibration of engagements per post).
HEAVY_DEBT_LIMIT = 10
# The platform's member/follower count over the members simulated, by community kind.
AUDIENCE_FACTOR = {"micro": (1.1, 1.5), "broad": (1.5, 3.0)}

# What `GeneratorConfig.brownfield()` sets: a community that existed long before the pipeline
# connected (most members are already there) with a few power users.
BROWNFIELD_PREEXISTING_SHARE = 0.7
BROWNFIELD_HEAVY_ENGAGER_SHARE = 0.05

PLATFORMS = ("facebook", "reddit", "discord", "brand_app")
# Where one member may put several reaction kinds on one target (emoji reactions); elsewhere a
# member has one reaction per target.
MULTI_REACTION_PLATFORMS = frozenset({"discord", "brand_app"})
MICRO_TOPICS = (
    "plant_care",
    "running_club",
    "sourdough",
    "home_espresso",
    "trail_running",
    "urban_sketching",
    "indoor_cycling",
    "zero_waste",
    "board_games",
    "vinyl_collectors",
    "beginner_yoga",
    "balcony_gardening",
    "film_photography",
    "cold_brew",
    "bike_repair",
    "knitting_circle",
)
BROAD_TOPICS = ("general", "announcements", "fans", "support")
JOIN_SOURCES = ("organic", "invite", "brand_campaign", "search")
JOIN_SOURCE_CUM = (0.45, 0.65, 0.85, 1.0)
CONTENT_TYPES = ("text", "image", "video", "link", "live_class", "event")
REACTIONS = ("like", "love", "insightful", "funny", "sad", "angry")
REACTION_CUM = (0.5, 0.68, 0.8, 0.9, 0.95, 1.0)
IDEA_CATEGORIES = ("feature_request", "product", "content", "events", "pricing", "bug")

# Word lists chosen from VADER's lexicon, so its compound score follows the intended mood.
POSITIVE_WORDS = ("great", "amazing", "helpful", "awesome", "beautiful", "excellent", "wonderful")
NEGATIVE_WORDS = ("terrible", "awful", "useless", "disappointing", "broken", "annoying", "horrible")
POSITIVE_CLOSERS = ("Thanks so much!", "Love it.", "Really happy with this.", "Great job, team!")
NEGATIVE_CLOSERS = ("Not happy.", "What a mess.", "I hate this.", "So frustrating.")
NEUTRAL_CLOSERS = ("Any thoughts?", "Details below.", "See the link.", "Posting for reference.")
NOUNS = ("update", "guide", "schedule", "meetup", "photo", "checklist", "session", "app", "order")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
IDEA_TITLES = (
    "Add a {topic} starter kit",
    "More {topic} live classes on weekends",
    "Let us filter the {topic} feed",
    "Offline mode for the {topic} app",
    "Monthly {topic} challenge",
    "Fix notifications for {topic} events",
    "Cheaper shipping for {topic} orders",
    "A beginners channel for {topic}",
)

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


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


def generate(config: GeneratorConfig) -> Iterator[GeneratedMessage]:
    """Yield the messages of one seeded run, in stream order.

    Args:
        config: What to generate.

    Yields:
        Valid events (in `occurred_at` order except the late ones), duplicates shortly after their
        originals and invalid messages spread across the stream.
    """
    rng = random.Random(config.seed)
    # The mix has its own generator, so valid events do not depend on the invalid/duplicate shares.
    mix_rng = random.Random(rng.getrandbits(64))
    world = _World(config, rng)
    yield from _mix(config, world, _Simulation(world, rng).run(), mix_rng)


# --- helpers -----------------------------------------------------------------------------------


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def _uuid4(rng: random.Random) -> str:
    """`str(uuid.UUID(int=rng.getrandbits(128), version=4))`, without the object overhead."""
    h = ((rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET).to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_DAY_PREFIX: dict[int, str] = {}
_CLOCK = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]


def _timestamp(ms: int) -> str:
    """RFC 3339 UTC timestamp with offset, as `datetime.isoformat()` writes it (microseconds)."""
    day, rest = divmod(ms, DAY_MS)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT")
    minute, rest = divmod(rest, MINUTE_MS)
    seconds, millis = divmod(rest, 1000)
    return f"{prefix}{_CLOCK[minute]}{seconds:02d}.{millis:03d}000+00:00"


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """Exact binomial draw by geometric skips: O(n*p) work, which is what follows anyway."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    log_q = math.log1p(-p)
    count = 0
    position = 0
    while True:
        position += int(math.log(1.0 - rng.random()) / log_q) + 1
        if position > n:
            return count
        count += 1


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0.0:
        return 0
    if lam > 30.0:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit = math.exp(-lam)
    k = 0
    product = rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


# Standard normal quantiles at 4096 midpoints: a table lookup is several times cheaper than
# `random.gauss`, and the granularity is far below what any metric can see.
_NORMAL = [NormalDist().inv_cdf((k + 0.5) / 4096) for k in range(4096)]


def _delays(median_minutes: float, sigma: float, cap_hours: float) -> list[int]:
    """Quantiles of a log-normal delay (ms), at least a second and at most `cap_hours`.

    Index with `int(rng.random() * 4096)` to draw one.
    """
    cap = cap_hours * 60
    return [
        max(1000, int(min(median_minutes * math.exp(sigma * z), cap) * MINUTE_MS)) for z in _NORMAL
    ]


def _delay_ms(rng: random.Random, median_minutes: float, sigma: float, cap_hours: float) -> int:
    """One log-normal delay (ms); the hot paths use precomputed `_delays` tables instead."""
    minutes = median_minutes * math.exp(sigma * _NORMAL[int(rng.random() * 4096)])
    return max(1000, int(min(minutes, cap_hours * 60) * MINUTE_MS))


FIRST_COMMENT_DELAYS = _delays(45, 1.3, 48)  # median 45 min: minutes to hours
NEXT_COMMENT_DELAYS = _delays(90, 1.3, 48)  # after the first comment
REACTION_DELAYS = _delays(90, 1.2, 48)
SHARE_DELAYS = _delays(180, 1.2, 72)
UNDO_DELAYS = _delays(180, 1.0, 72)  # reaction.added -> reaction.removed
IDEA_FOLLOW_UP_DELAYS = _delays(240, 1.0, 96)  # comments and reactions on ideas
REACTION_FOLLOW_DELAYS = _delays(4, 1.0, 2)  # a heavy engager's next reaction of a visit


def _to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _default_end() -> datetime:
    return datetime.combine(datetime.now(UTC).date(), dtime(0), tzinfo=UTC)


def _audience_size(seed: int, c: _Community) -> int:
    """The platform's member/follower count of `c`: every member the run simulates (from before
    the span or not, seen or never) plus accounts that never show up at all.

    Drawn from a generator of its own (seeded by seed and community id), so that it leaves every
    other draw, and so every other event, as it is.
    """
    low, high = AUDIENCE_FACTOR[c.kind]
    return round(c.size * random.Random(f"audience:{seed}:{c.cid}").uniform(low, high))


# --- world -------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Community:
    """One community and everything the simulation needs to know about its members."""

    index: int
    cid: str
    key: bytes
    brand_id: str
    kind: str
    name: str
    topic: str
    visibility: str
    platform: str
    size: int
    p_engage: float
    activity: float
    brand_post_share: float = 0.15
    brand_comment_share: float = 0.06
    content_cum: list[float] = field(default_factory=list)
    p_positive: float = 0.5
    p_negative: float = 0.2
    spike: bool = False
    idea_factor: float = 1.0
    lurker_share: float = 0.7
    audience_size: int = 0  # what the platform says (community.upserted)
    # members, sorted by join time; the first `n_staff` are staff accounts
    n_staff: int = 0
    staff_roles: list[str] = field(default_factory=list)
    member_ids: list[str] = field(default_factory=list)
    join_ms: list[int] = field(default_factory=list)
    gone_ms: list[int] = field(default_factory=list)
    gone_sorted: list[int] = field(default_factory=list)
    acted: bytearray = field(default_factory=bytearray)
    erasing: bytearray = field(default_factory=bytearray)  # never delivered late (see _emit_by)
    preexisting: bytearray = field(default_factory=bytearray)  # members before the span
    heavy: bytearray = field(default_factory=bytearray)  # heavy engagers (non-lurkers only)
    debt: int = 0  # reactions heavy engagers made beyond their share, still to be left out
    # non-lurking regular members, sorted by join time, with cumulative activity weights
    active_index: list[int] = field(default_factory=list)
    active_join_ms: list[int] = field(default_factory=list)
    active_cum: list[float] = field(default_factory=list)
    daily_present: list[int] = field(default_factory=list)
    # the envelope around `member_id`, written once
    json_middle: str = ""
    json_tail: str = ""

    def __post_init__(self) -> None:
        self.json_middle = f'","community_id":"{self.cid}",'
        self.json_tail = f'"platform":"{self.platform}","payload":'

    def present(self, at_ms: int) -> int:
        """Members (staff included) who joined by `at_ms` and have not gone."""
        return bisect.bisect_right(self.join_ms, at_ms) - bisect.bisect_right(
            self.gone_sorted, at_ms
        )


class _World:
    """Brands, communities, members and their membership timeline, drawn up front."""

    def __init__(self, config: GeneratorConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        end = config.end if config.end is not None else _default_end()
        self.end_ms = _to_ms(end)
        self.start_ms = self.end_ms - config.days * DAY_MS
        self.span_ms = config.days * DAY_MS
        self.communities: list[_Community] = []
        self._next_member = 10_000
        self._plan_communities()
        self._draw_members()
        self._calibrate()

    # communities

    def _plan_communities(self) -> None:
        config, rng = self.config, self.rng
        micro_hi = int(min(250, max(40, config.events // 400)))
        broad_hi = min(30.0, max(10.5, 10 + config.events / 10_000))
        plans: list[tuple[str, str, str, int]] = []
        for b in range(1, config.brands + 1):
            brand_id = f"brand_{b}"
            micro_sizes = [rng.randint(30, micro_hi) for _ in range(rng.randint(2, 5))]
            mean_micro = sum(micro_sizes) / len(micro_sizes)
            topics = rng.sample(MICRO_TOPICS, len(micro_sizes))
            for topic, size in zip(topics, micro_sizes, strict=True):
                plans.append((brand_id, "micro", topic, size))
            for topic in rng.sample(BROAD_TOPICS, rng.randint(1, 2)):
                plans.append(
                    (brand_id, "broad", topic, round(mean_micro * rng.uniform(10, broad_hi)))
                )
        # Below ~5k events the stated sizes would leave no room for activity: shrink everything.
        members = sum(size for *_, size in plans) * 1.1
        factor = min(1.0, MAX_MEMBER_SHARE * config.events / members)
        p_broad = min(1.0, P_MICRO / config.micro_lift)
        for brand_id, kind, topic, size in plans:
            index = len(self.communities)
            cid = f"{brand_id}.{kind}.{topic}"
            micro = kind == "micro"
            community = _Community(
                index=index,
                cid=cid,
                key=cid.encode(),
                brand_id=brand_id,
                kind=kind,
                name=f"{brand_id.replace('_', ' ').title()} {topic.replace('_', ' ').title()}",
                topic=topic,
                visibility=rng.choice(("private", "private", "public") if micro else ("public",)),
                platform=rng.choice(PLATFORMS if micro else ("facebook", "reddit", "brand_app")),
                size=max(3, round(size * factor)),
                p_engage=P_MICRO if micro else p_broad,
                activity=rng.uniform(0.7, 1.3),
                brand_post_share=rng.uniform(0.05, 0.25) if micro else rng.uniform(0.15, 0.4),
                brand_comment_share=rng.uniform(0.03, 0.1),
                p_positive=rng.uniform(0.4, 0.6),
                p_negative=rng.uniform(0.1, 0.25),
                lurker_share=rng.uniform(0.55, 0.7) if micro else rng.uniform(0.7, 0.85),
            )
            weights = [rng.uniform(0.2, 1.0) for _ in CONTENT_TYPES]
            weights[0] += 1.0  # plain text posts dominate everywhere
            total = sum(weights)
            running = 0.0
            for weight in weights:
                running += weight / total
                community.content_cum.append(running)
            community.content_cum[-1] = 1.0
            community.idea_factor = 3.0 if community.platform == "brand_app" else 1.0
            community.audience_size = _audience_size(config.seed, community)
            self.communities.append(community)
        for brand_id in dict.fromkeys(c.brand_id for c in self.communities):
            own = [c for c in self.communities if c.brand_id == brand_id]
            loud = rng.choice([c for c in own if c.kind == "micro"])
            loud.brand_post_share, loud.brand_comment_share = 0.9, 0.5
            # The busiest community, so the spike is visible above the daily noise.
            max((c for c in own if c.kind == "broad"), key=lambda c: c.size).spike = True

    # members

    def _new_member_id(self) -> str:
        self._next_member += self.rng.randint(1, 9)
        return f"u{self._next_member}"

    def _draw_members(self) -> None:
        rng, start, span = self.rng, self.start_ms, self.span_ms
        campaign_day = {
            brand: rng.uniform(0.3, 0.7) * span
            for brand in dict.fromkeys(c.brand_id for c in self.communities)
        }
        founding_ms = min(2 * DAY_MS, span // 4)
        self.erasure_candidates: list[tuple[_Community, int]] = []
        self.join_sources: dict[int, list[int]] = {}
        never = self.end_ms + 365 * DAY_MS
        preexisting_share = self.config.preexisting_share
        heavy_share = self.config.heavy_engager_share
        # A community that already has its members has no founding rush.
        founding_share = FOUNDING_SHARE * (1.0 - preexisting_share)
        for c in self.communities:
            # join ms, member id, weight, source (-1: a member from before the span)
            rows: list[tuple[int, str, float, int]] = []
            c.n_staff = 2 if c.size < 60 else 3
            c.staff_roles = ["brand"] + ["moderator"] * (c.n_staff - 1)
            for s in range(c.n_staff):
                rows.append((start + (s + 1) * MINUTE_MS, self._new_member_id(), 0.0, 0))
            for _ in range(c.size - c.n_staff):
                # (No draw at all without pre-existing members: the default stream stays as is.)
                if preexisting_share and rng.random() < preexisting_share:
                    lurks = rng.random() < c.lurker_share
                    weight = 0.0 if lurks else min(rng.paretovariate(1.2), 500)
                    rows.append((start + PREEXISTING_FROM_MS, self._new_member_id(), weight, -1))
                    continue
                u = rng.random()
                source = next(i for i, edge in enumerate(JOIN_SOURCE_CUM) if u < edge)
                if source == 2 and rng.random() < 0.6:
                    offset = campaign_day[c.brand_id] + rng.uniform(-DAY_MS, DAY_MS)
                elif rng.random() < founding_share:
                    offset = rng.uniform(0, founding_ms)
                else:
                    offset = rng.uniform(0, span)
                join = start + 10 * MINUTE_MS + int(min(max(offset, 0), span - HOUR_MS))
                weight = 0.0 if rng.random() < c.lurker_share else min(rng.paretovariate(1.2), 500)
                rows.append((join, self._new_member_id(), weight, source))
            rows.sort()
            c.acted = bytearray(len(rows))
            c.erasing = bytearray(len(rows))
            c.preexisting = bytearray(len(rows))
            c.heavy = bytearray(len(rows))
            for i, (join, member_id, weight, source) in enumerate(rows):
                c.member_ids.append(member_id)
                c.join_ms.append(join)
                gone = never
                # Lurkers drift away more often than contributors; staff never leave.
                if i >= c.n_staff and rng.random() < (0.06 if weight else 0.14):
                    if source < 0:  # a member for long already: leaves at any time of the span
                        gone = start + HOUR_MS + int(rng.random() * (span - 2 * HOUR_MS))
                    else:
                        gone = join + HOUR_MS + int(rng.expovariate(1 / (12 * DAY_MS)))
                c.gone_ms.append(gone if gone < self.end_ms else never)
                if source < 0:
                    c.preexisting[i] = 1
                if weight:
                    if heavy_share and rng.random() < heavy_share:
                        c.heavy[i] = 1
                    c.active_index.append(i)
                    c.active_join_ms.append(join)
                    c.active_cum.append((c.active_cum[-1] if c.active_cum else 0.0) + weight)
            self.join_sources[c.index] = [row[3] for row in rows]
        self._pick_erasures()
        # (ms, kind: 0 join, 1 leave, 2 erase, community index, member index), by time
        self.timeline: list[tuple[int, int, int, int]] = []
        for c in self.communities:
            erased = {i for cc, i in self.erasure_candidates if cc is c}
            for i, join in enumerate(c.join_ms):
                if not c.preexisting[i]:  # members from before the span never join
                    self.timeline.append((join, 0, c.index, i))
                if c.gone_ms[i] < self.end_ms:
                    self.timeline.append((c.gone_ms[i], 2 if i in erased else 1, c.index, i))
            c.gone_sorted = sorted(g for g in c.gone_ms if g < self.end_ms)
            c.daily_present = [
                c.present(self.start_ms + d * DAY_MS + DAY_MS // 2) for d in range(self.config.days)
            ]
        self.timeline.sort()

    def _pick_erasures(self) -> None:
        """A few of the most active early joiners erase themselves in the last days."""
        rng = self.rng
        last = max(self.end_ms - SPIKE_DAYS * DAY_MS, self.start_ms + self.span_ms // 2)
        for brand_id in dict.fromkeys(c.brand_id for c in self.communities):
            own = [c for c in self.communities if c.brand_id == brand_id]
            pool: list[tuple[float, int, _Community, int]] = []
            for c in own:
                for position, i in enumerate(c.active_index):
                    if (
                        c.join_ms[i] < self.start_ms + self.span_ms // 5
                        and c.gone_ms[i] > self.end_ms
                    ):
                        weight = c.active_cum[position] - (
                            c.active_cum[position - 1] if position else 0.0
                        )
                        pool.append((-weight, c.index, c, i))
            pool.sort(key=lambda row: (row[0], row[1], row[3]))
            wanted = max(1, sum(c.size for c in own) // 2000)
            top = pool[: max(wanted, len(pool) // 10)]
            for _, _, c, i in rng.sample(top, min(wanted, len(top))):
                c.gone_ms[i] = rng.randint(last, self.end_ms - HOUR_MS)
                c.erasing[i] = 1
                self.erasure_candidates.append((c, i))

    def source_of(self, c: _Community, i: int) -> str:
        return JOIN_SOURCES[self.join_sources[c.index][i]]

    # calibration

    def _calibrate(self) -> None:
        """Set post and idea rates so the expected number of valid events matches `events`."""
        config = self.config
        fixed = len(self.communities) + len(self.timeline)
        rest = max(config.events - fixed, config.events * 0.1)
        post_units = 0.0
        idea_units = 0.0
        for c in self.communities:
            for d, present in enumerate(c.daily_present):
                weight = self.post_weight(c, d)
                # 65% of engagements are reactions and 4% of those are removed again.
                post_units += weight * (1 + c.p_engage * present * 1.026)
                idea_weight = self.idea_weight(c, d)
                idea_units += idea_weight * (4.2 + self.votes_per_idea(present) * 1.12)
        self.post_rate = (1 - IDEA_EVENT_SHARE) * rest / max(post_units, 1e-9)
        # Votes and decisions run for weeks, so many fall after `end` and are dropped.
        self.idea_rate = IDEA_EVENT_SHARE * rest / max(idea_units, 1e-9) * 1.2

    def day_factor(self, c: _Community, d: int) -> float:
        weekday = datetime.fromtimestamp((self.start_ms + d * DAY_MS) / 1000, UTC).weekday()
        factor = 0.8 if weekday >= 5 else 1.0
        if c.spike and d >= self.config.days - SPIKE_DAYS:
            factor *= 1.5  # people complain loudly
        return factor

    def post_weight(self, c: _Community, d: int) -> float:
        return c.activity * max(c.daily_present[d], 1) ** 0.6 * self.day_factor(c, d)

    def idea_weight(self, c: _Community, d: int) -> float:
        return c.idea_factor * max(c.daily_present[d], 1) ** 0.5

    @staticmethod
    def votes_per_idea(present: int) -> float:
        return 1.5 + 0.005 * present


# --- simulation --------------------------------------------------------------------------------

_Pending = tuple[int, int, bytes, str, bytes]  # emit ms, sequence, key, event id, value
_SENTIMENT_RANGES = ((0.2, 0.95), (-0.15, 0.15), (-0.95, -0.25))  # by mood
_TYPE_PART = {
    event_type: f'","event_type":"{event_type}","schema_version":1,"occurred_at":"'
    for event_type in EVENT_TYPES
}


class _Simulation:
    """Turns the world into valid events, one day at a time.

    Payload JSON is written by hand: apart from free text (escaped by the json module's C
    encoder) every value is one of our own identifiers or enum members, and `json.dumps` per event
    would cost a third of the generation time.
    """

    def __init__(self, world: _World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.start_ms = world.start_ms
        self.end_ms = world.end_ms
        self.spike_from_ms = world.end_ms - SPIKE_DAYS * DAY_MS
        self.days = world.config.days
        self.buckets: list[list[_Pending]] = [[] for _ in range(self.days)]  # by delivery day
        self.sequence = 0
        self.counter = 0

    def run(self) -> Iterator[_Pending]:
        """Yield valid events in stream order: day by day, each day sorted by delivery time."""
        world = self.world
        timeline = world.timeline
        cursor = 0
        for c in world.communities:
            upserted = {
                "name": c.name,
                "kind": c.kind,
                "brand_id": c.brand_id,
                "topic": c.topic,
                "visibility": c.visibility,
                "audience_size": c.audience_size,
            }
            self._emit(self.start_ms + c.index, c, None, "community.upserted", _dumps(upserted))
        for d in range(self.days):
            day_start = self.start_ms + d * DAY_MS
            day_end = day_start + DAY_MS
            erasures: list[tuple[int, _Community, int]] = []
            while cursor < len(timeline) and timeline[cursor][0] < day_end:
                at, kind, ci, i = timeline[cursor]
                cursor += 1
                c = world.communities[ci]
                if kind == 0:
                    source = f'{{"source":"{world.source_of(c, i)}"}}'
                    # Staff join right after the upsert; keep them in order.
                    self._emit(at, c, c.member_ids[i], "member.joined", source, i >= c.n_staff)
                elif kind == 1:
                    self._emit(at, c, c.member_ids[i], "member.left", "{}", True)
                else:
                    erasures.append((at, c, i))
            for c in world.communities:
                for _ in range(_poisson(self.rng, world.post_rate * world.post_weight(c, d))):
                    self._post(c, day_start + self._time_of_day())
                for _ in range(_poisson(self.rng, world.idea_rate * world.idea_weight(c, d))):
                    self._idea(c, day_start + self._time_of_day())
            # After the day's activity, so `acted` covers everything before the erasure.
            for at, c, i in erasures:
                if c.acted[i]:
                    self._emit(at, c, c.member_ids[i], "member.erased", "{}")
            yield from self._deliver(d)

    def _deliver(self, day: int) -> list[_Pending]:
        bucket, self.buckets[day] = self.buckets[day], []
        bucket.sort()
        return bucket

    # plumbing

    def _emit(
        self,
        at_ms: int,
        c: _Community,
        member_id: str | None,
        event_type: str,
        payload: str,
        late_ok: bool = False,
    ) -> bool:
        """Schedule one event (payload as JSON text); at or after `end` it is dropped (False)."""
        if at_ms >= self.end_ms:
            return False
        rng = self.rng
        emit_ms = at_ms
        if late_ok and rng.random() < LATE_SHARE:
            # Only delays that newer events will surround: nothing is delivered after `end`.
            delayed = at_ms + DAY_MS + int(rng.random() * DAY_MS)
            if delayed < self.end_ms:
                emit_ms = delayed
        event_id = _uuid4(rng)
        member = "" if member_id is None else f'"member_id":"{member_id}",'
        value = (
            f'{{"event_id":"{event_id}{_TYPE_PART[event_type]}{_timestamp(at_ms)}'
            f"{c.json_middle}{member}{c.json_tail}{payload}}}"
        ).encode()
        self.sequence += 1
        self.buckets[(emit_ms - self.start_ms) // DAY_MS].append(
            (emit_ms, self.sequence, c.key, event_id, value)
        )
        return True

    def _emit_by(self, at_ms: int, c: _Community, i: int, event_type: str, payload: str) -> bool:
        """Schedule an event by member `i` and remember that they acted."""
        # An erasing member's events all arrive before the erasure, so it can clean them up.
        if self._emit(at_ms, c, c.member_ids[i], event_type, payload, not c.erasing[i]):
            c.acted[i] = 1
            return True
        return False

    def _next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _time_of_day(self) -> int:
        # Evenings are busiest; a tenth of activity is spread over the whole day.
        if self.rng.random() < 0.1:
            return int(self.rng.random() * DAY_MS)
        return int(self.rng.triangular(0.25, 1.0, 0.8) * (DAY_MS - 1))

    def _pick_member(self, c: _Community, seen_at: int, acts_at: int) -> int | None:
        """A regular member present at `seen_at` and still there at `acts_at`, uniformly."""
        joined = bisect.bisect_right(c.join_ms, seen_at) - c.n_staff
        if joined <= 0:
            return None
        random_ = self.rng.random
        for _ in range(4):
            i = c.n_staff + int(random_() * joined)
            if c.gone_ms[i] > acts_at:
                return i
        return None

    def _pick_active(self, c: _Community, seen_at: int, acts_at: int) -> int | None:
        """A non-lurking member present at `seen_at` and at `acts_at`, by activity weight."""
        joined = bisect.bisect_right(c.active_join_ms, seen_at)
        if joined == 0:
            return None
        cum = c.active_cum
        for _ in range(4):
            position = bisect.bisect_right(cum, self.rng.random() * cum[joined - 1], 0, joined - 1)
            i = c.active_index[position]
            if c.gone_ms[i] > acts_at:
                return i
        return None

    def _staff(self, c: _Community) -> int:
        u = self.rng.random()
        # The brand account speaks 70% of the time, the moderators share the rest.
        return 0 if u < 0.7 else 1 + int((u - 0.7) / 0.3 * (c.n_staff - 1))

    def _text(self, c: _Community, at_ms: int) -> str:
        """Optional `text`/`sentiment` members of a payload, as JSON (with a leading comma).

        Half of the items carry text (a quarter of those also a sentiment), 15% only a
        sentiment, the rest neither.
        """
        rng = self.rng
        u = rng.random()
        if u >= 0.65:
            return ""
        p_positive, p_negative = c.p_positive, c.p_negative
        if c.spike and at_ms >= self.spike_from_ms:
            p_positive, p_negative = 0.05, 0.85
        m = rng.random()
        mood = 0 if m < p_positive else 2 if m > 1 - p_negative else 1
        out = ""
        if u < 0.5:
            out = f',"text":{_json_string(self._sentence(c, mood))}'
            if rng.random() >= 0.25:
                return out
        low, high = _SENTIMENT_RANGES[mood]
        return f'{out},"sentiment":{round(rng.uniform(low, high), 3)!r}'

    def _sentence(self, c: _Community, mood: int) -> str:
        random_ = self.rng.random

        def choice(words: tuple[str, ...]) -> str:
            return words[int(random_() * len(words))]

        topic = c.topic.replace("_", " ")
        noun = choice(NOUNS)
        if mood == 0:
            return f"The new {topic} {noun} is {choice(POSITIVE_WORDS)}. {choice(POSITIVE_CLOSERS)}"
        if mood == 2:
            return (
                f"The {topic} {noun} is {choice(NEGATIVE_WORDS)} again. {choice(NEGATIVE_CLOSERS)}"
            )
        return f"The {topic} {noun} for {choice(WEEKDAYS)} is posted. {choice(NEUTRAL_CLOSERS)}"

    # activity

    def _post(self, c: _Community, at: int) -> None:
        rng = self.rng
        author = None if rng.random() < c.brand_post_share else self._pick_active(c, at, at)
        role = "member"
        if author is None:
            author = self._staff(c)
            role = c.staff_roles[author]
        post_id = self._next_id("p")
        content_type = CONTENT_TYPES[bisect.bisect_left(c.content_cum, rng.random())]
        extra = self._text(c, at)
        if rng.random() < 0.3:
            tags = [c.topic, *rng.sample(NOUNS, rng.randint(0, 2))]
            extra += ',"tags":["' + '","'.join(tags) + '"]'
        payload = (
            f'{{"post_id":"{post_id}","author_role":"{role}",'
            f'"content_type":"{content_type}"{extra}}}'
        )
        if not self._emit_by(at, c, author, "post.created", payload):
            return
        engagements = _binomial(rng, c.present(at), c.p_engage)
        if engagements:
            self._engage(c, at, post_id, engagements)

    def _engage(self, c: _Community, at: int, post_id: str, engagements: int) -> None:
        """Spread one post's engagements over comments, reactions and shares."""
        rng = self.rng
        n_comments = n_shares = 0
        for _ in range(engagements):
            u = rng.random()
            if u < COMMENT_SHARE:
                n_comments += 1
            elif u < COMMENT_SHARE + SHARE_SHARE:
                n_shares += 1
        n_reactions = engagements - n_comments - n_shares
        # The first response takes minutes to hours whatever the size of the thread; the rest
        # of the discussion follows it.
        comment_times: list[int] = []
        if n_comments:
            first = at + FIRST_COMMENT_DELAYS[int(rng.random() * 4096)]
            later = (
                first + NEXT_COMMENT_DELAYS[int(rng.random() * 4096)] for _ in range(n_comments - 1)
            )
            comment_times = [first, *sorted(later)]
        comments: list[tuple[int, str]] = []
        authors: list[int] = []  # of `comments`
        heavy = c.heavy
        visitors: list[tuple[int, int]] = []  # heavy engagers who commented here: when, who
        again = 0  # comments the last of them still wants to write
        for when in comment_times:
            parent = ""
            if comments and rng.random() < REPLY_SHARE:
                parent_at, parent_id = comments[int(rng.random() * len(comments))]
                when = max(when, parent_at + 30_000)
                parent = f',"parent_comment_id":"{parent_id}"'
            role = "member"
            if again and rng.random() < HEAVY_TAKES_SLOT and c.gone_ms[visitors[-1][1]] > when:
                author: int | None = visitors[-1][1]
                again -= 1
            else:
                author = (
                    None if rng.random() < c.brand_comment_share else self._pick_active(c, at, when)
                )
                if author is not None and heavy[author] and not again:
                    visitors.append((when, author))
                    low, high = HEAVY_COMMENTS_AGAIN
                    again = low + int(rng.random() * (high - low + 1))
            if author is None:
                author = self._staff(c)
                role = c.staff_roles[author]
            comment_id = self._next_id("c")
            payload = (
                f'{{"comment_id":"{comment_id}","post_id":"{post_id}"{parent},'
                f'"author_role":"{role}"{self._text(c, when)}}}'
            )
            if self._emit_by(when, c, author, "comment.created", payload):
                comments.append((when, comment_id))
                authors.append(author)
        # Reactions and shares come from regular members present at posting time (drawn
        # uniformly; one draw per engagement, retried a few times if the member has gone).
        n_staff, gone_ms, random_ = c.n_staff, c.gone_ms, rng.random
        joined = bisect.bisect_right(c.join_ms, at) - n_staff
        if joined <= 0:
            return
        comment_at = [when for when, _ in comments]
        reacted: set[tuple[str, int]] = set()
        for when, member in visitors:
            # A heavy engager who comments reacts around the thread too, while the community's
            # next reactions can make up for it (see `debt`).
            if c.debt < HEAVY_DEBT_LIMIT:
                when += REACTION_FOLLOW_DELAYS[int(random_() * 4096)]
                first = ("post", post_id)
                c.debt += self._react_heavily(c, when, member, first, comments, authors, reacted)
        left = n_reactions
        while left > 0:
            left -= 1
            if c.debt:  # a heavy engager's earlier visit took this engagement already
                c.debt -= 1
                continue
            when = at + REACTION_DELAYS[int(random_() * 4096)]
            target_type, target_id = "post", post_id
            if comments and random_() < 0.2:
                earlier = bisect.bisect_left(comment_at, when)
                if earlier:
                    target_type, target_id = "comment", comments[int(random_() * earlier)][1]
            for _ in range(4):
                member = n_staff + int(random_() * joined)
                if gone_ms[member] > when:
                    break
            else:
                continue
            if heavy[member]:
                # The visit's further reactions take the place of the community's next ones, so
                # engagements per post and member stay as calibrated.
                first = (target_type, target_id)
                made = self._react_heavily(c, when, member, first, comments, authors, reacted)
                c.debt += max(0, made - 1)
                continue
            # One reaction per member and target, like the platforms allow.
            if (target_id, member) in reacted:
                continue
            reacted.add((target_id, member))
            self._react(c, when, member, target_type, target_id)
        for _ in range(n_shares):
            when = at + SHARE_DELAYS[int(random_() * 4096)]
            member = n_staff + int(random_() * joined)
            if gone_ms[member] > when:
                destination = "internal" if random_() < 0.6 else "external"
                payload = f'{{"post_id":"{post_id}","destination":"{destination}"}}'
                self._emit_by(when, c, member, "content.shared", payload)

    def _react_heavily(
        self,
        c: _Community,
        when: int,
        member: int,
        first: tuple[str, str],
        comments: list[tuple[int, str]],
        authors: list[int],
        reacted: set[tuple[str, int]],
    ) -> int:
        """A heavy engager follows a thread: 2-5 reactions on the post and its comments.

        The first on the drawn target at `when`, then on other people's comments of the thread as
        they come in; where the platform allows, further kinds on targets of the visit (never
        one kind twice). Returns how many reactions it made.
        """
        rng = self.rng
        gone = c.gone_ms[member]
        low, high = HEAVY_REACTIONS
        wanted = low + int(rng.random() * (high - low + 1))
        follow = REACTION_FOLLOW_DELAYS
        plan = [(when, *first)]
        others = [
            comment
            for comment, author in zip(comments, authors, strict=True)
            if author != member and comment[1] != first[1]
        ]
        for at, comment_id in rng.sample(others, min(len(others), wanted - 1)):
            plan.append((max(when, at) + follow[int(rng.random() * 4096)], "comment", comment_id))
        made = 0
        done: list[tuple[int, str, str, list[str]]] = []  # when, target type and id, its kinds
        for at, target_type, target_id in plan:
            if at >= gone or (target_id, member) in reacted:
                continue
            reacted.add((target_id, member))
            reaction = REACTIONS[bisect.bisect_left(REACTION_CUM, rng.random())]
            self._react(c, at, member, target_type, target_id, reaction)
            done.append((at, target_type, target_id, [reaction]))
            made += 1
        if done and c.platform in MULTI_REACTION_PLATFORMS:
            for _ in range(wanted - made):
                at, target_type, target_id, kinds = done[int(rng.random() * len(done))]
                at += follow[int(rng.random() * 4096)]
                fresh = [kind for kind in REACTIONS if kind not in kinds]
                if at < gone and fresh:
                    reaction = fresh[int(rng.random() * len(fresh))]
                    kinds.append(reaction)
                    self._react(c, at, member, target_type, target_id, reaction)
                    made += 1
        return made

    def _react(
        self,
        c: _Community,
        when: int,
        member: int,
        target_type: str,
        target_id: str,
        reaction: str | None = None,
    ) -> None:
        rng = self.rng
        if reaction is None:
            reaction = REACTIONS[bisect.bisect_left(REACTION_CUM, rng.random())]
        payload = (
            f'{{"target_type":"{target_type}","target_id":"{target_id}","reaction":"{reaction}"}}'
        )
        if not self._emit_by(when, c, member, "reaction.added", payload):
            return
        if rng.random() < REACTION_REMOVED_SHARE:
            undo = when + UNDO_DELAYS[int(rng.random() * 4096)]
            if c.gone_ms[member] > undo:
                self._emit_by(undo, c, member, "reaction.removed", payload)

    def _idea(self, c: _Community, at: int) -> None:
        rng = self.rng
        author = self._pick_active(c, at, at)
        if author is None:
            author = self._pick_member(c, at, at)
            if author is None:
                return
        idea_id = self._next_id("i")
        title = rng.choice(IDEA_TITLES).format(topic=c.topic.replace("_", " "))
        payload = (
            f'{{"idea_id":"{idea_id}","title":{_json_string(title)},'
            f'"category":"{rng.choice(IDEA_CATEGORIES)}"{self._text(c, at)}}}'
        )
        if not self._emit_by(at, c, author, "feedback.submitted", payload):
            return
        popularity = rng.uniform(0.35, 0.95)
        voted: set[int] = set()
        for _ in range(_poisson(rng, self.world.votes_per_idea(c.present(at)))):
            when = at + min(int(rng.expovariate(1 / (36 * HOUR_MS))), 14 * DAY_MS) + MINUTE_MS
            voter = self._pick_member(c, when, when)
            if voter is None or voter in voted:
                continue
            voted.add(voter)
            up = rng.random() < popularity
            vote = f'{{"idea_id":"{idea_id}","direction":"{"up" if up else "down"}"}}'
            if not self._emit_by(when, c, voter, "feedback.voted", vote):
                continue
            if rng.random() < 0.12:  # a change of mind: the later vote is the one that counts
                again = when + HOUR_MS + int(rng.expovariate(1 / (3 * DAY_MS)))
                if c.gone_ms[voter] > again:
                    flipped = f'{{"idea_id":"{idea_id}","direction":"{"down" if up else "up"}"}}'
                    self._emit_by(again, c, voter, "feedback.voted", flipped)
        for _ in range(_poisson(rng, 0.5)):
            when = at + IDEA_FOLLOW_UP_DELAYS[int(rng.random() * 4096)]
            commenter = self._pick_active(c, when, when)
            if commenter is not None:
                payload = (
                    f'{{"comment_id":"{self._next_id("c")}","post_id":"{idea_id}",'
                    f'"author_role":"member"{self._text(c, when)}}}'
                )
                self._emit_by(when, c, commenter, "comment.created", payload)
        reacted: set[int] = set()
        for _ in range(_poisson(rng, 0.3)):
            when = at + IDEA_FOLLOW_UP_DELAYS[int(rng.random() * 4096)]
            member = self._pick_member(c, when, when)
            if member is not None and member not in reacted:  # one reaction per member and idea
                reacted.add(member)
                self._react(c, when, member, "idea", idea_id)
        self._idea_lifecycle(c, at, idea_id, popularity)

    def _idea_lifecycle(self, c: _Community, at: int, idea_id: str, popularity: float) -> None:
        """under_review, then accepted (maybe implemented) or declined; a quarter never answered."""
        rng = self.rng
        if rng.random() < 0.25:
            return
        steps = ["under_review"]
        if rng.random() < popularity * 0.8:
            steps.append("accepted")
            if rng.random() < 0.45:
                steps.append("implemented")
        else:
            steps.append("declined")
        when = at
        for step, median_hours in zip(steps, (30, 5 * 24, 10 * 24), strict=False):
            when += _delay_ms(rng, median_hours * 60, 0.8, median_hours * 4)
            staff = self._staff(c)
            payload = (
                f'{{"idea_id":"{idea_id}","status":"{step}","by_role":"{c.staff_roles[staff]}"}}'
            )
            if not self._emit_by(when, c, staff, "feedback.status_changed", payload):
                return


# --- mixing in duplicates and invalid messages ------------------------------------------------

INVALID_REASONS = (
    "invalid_json",
    "invalid_utf8",
    "schema_violation",
    "unknown_event_type",
    "future_timestamp",
)
_BAD_BYTES = b"\xff\xfe"


def _mix(
    config: GeneratorConfig,
    world: _World,
    valid: Iterator[_Pending],
    rng: random.Random,
) -> Iterator[GeneratedMessage]:
    """Interleave duplicates and invalid messages with the valid stream."""
    invalid_per_message = config.invalid_share / (1 - config.invalid_share)
    duplicate_share = config.duplicate_share
    credit = rng.random()  # so the first invalid message does not always sit at the same place
    turn = 0
    sent = 0
    oversized_at: list[int] = []
    if config.invalid_share > 0 and config.events >= 5000:
        estimate = expected_messages(config)
        count = 1 + estimate // 200_000
        oversized_at = [estimate * (2 * k + 1) // (2 * count) for k in range(count)]
        oversized_at.reverse()
    resend: list[list[Any]] = []  # [messages still to wait, duplicate]
    invalid = _InvalidFactory(world, rng)
    last_ms = world.start_ms
    for emit_ms, _, key, event_id, value in valid:
        last_ms = emit_ms
        yield GeneratedMessage(key, value, "valid", event_id)
        step = 1
        if resend:
            for entry in resend:
                entry[0] -= 1
            while resend and resend[0][0] <= 0:
                yield resend.pop(0)[1]
                step += 1
        if rng.random() < duplicate_share:
            wait = rng.randint(1, 20)
            duplicate = GeneratedMessage(key, value, "duplicate", event_id)
            bisect.insort(resend, [wait, duplicate], key=lambda entry: entry[0])
        sent += step
        credit += invalid_per_message * step
        if credit >= 1.0:
            credit -= 1.0
            yield invalid.make(INVALID_REASONS[turn % len(INVALID_REASONS)], last_ms)
            turn += 1
            sent += 1
        if oversized_at and sent >= oversized_at[-1]:
            oversized_at.pop()
            yield invalid.make("oversized", last_ms)
            sent += 1
    for _, duplicate in resend:
        yield duplicate
    for _ in oversized_at:
        yield invalid.make("oversized", last_ms)


class _InvalidFactory:
    """Builds messages that really fail for the reason they are labelled with."""

    def __init__(self, world: _World, rng: random.Random) -> None:
        self.communities = world.communities
        self.rng = rng
        self.turns = {reason: 0 for reason in (*INVALID_REASONS, "oversized")}

    def make(self, reason: str, at_ms: int) -> GeneratedMessage:
        turn = self.turns[reason]
        self.turns[reason] += 1
        rng = self.rng
        c = self.communities[rng.randrange(len(self.communities))]
        event: dict[str, Any] = {
            "event_id": _uuid4(rng),
            "event_type": "post.created",
            "schema_version": 1,
            "occurred_at": _timestamp(at_ms),
            "community_id": c.cid,
            # Far above the ids of real members, so no dead letter is tied to one of them.
            "member_id": f"u{rng.randint(900_000_000, 999_999_999)}",
            "platform": c.platform,
            "payload": {
                "post_id": f"x{rng.getrandbits(32)}",
                "author_role": "member",
                "content_type": "text",
                "text": "Posting from the new app, looks great",
            },
        }
        key = c.key
        value = self._build(reason, turn, event)
        if reason == "schema_violation" and turn % 5 == 4:
            key = event["community_id"].encode()
        return GeneratedMessage(key, value, "invalid", None, reason)

    def _build(self, reason: str, turn: int, event: dict[str, Any]) -> bytes:
        if reason == "invalid_json":
            text = _dumps(event)
            return text[: self.rng.randint(len(text) // 3, len(text) - 2)].encode()
        if reason == "invalid_utf8":
            event["payload"]["text"] = "broken bytes here: @@"
            return _dumps(event).encode().replace(b"@@", _BAD_BYTES)
        if reason == "schema_violation":
            variant = turn % 5
            if variant == 0:
                del event["event_id"]  # missing required field
            elif variant == 1:
                event["payload"]["sentiment"] = "very positive"  # wrong type
            elif variant == 2:
                event["payload"]["content_type"] = "gif"  # not in the enum
            elif variant == 3:
                event["member_id"] = 12345  # a number where a string is required
            else:
                event["community_id"] = event["community_id"].replace(".", " ")  # spaces
            return _dumps(event).encode()
        if reason == "unknown_event_type":
            event["event_type"] = ("post.deleted", "member.banned", "poll.created")[turn % 3]
            return _dumps(event).encode()
        if reason == "future_timestamp":
            event["occurred_at"] = "2999-01-01" + event["occurred_at"][10:]
            return _dumps(event).encode()
        if reason == "oversized":
            # Too many tags as well as too big: invalid whichever check the consumer makes first.
            count = int(1.15 * MIB) // 64 + 1
            event["payload"]["tags"] = [f"overflow-{n:06d}-" + "x" * 45 for n in range(count)]
            return _dumps(event).encode()
        raise ValueError(f"unknown invalid reason {reason!r}")


# --- producing ---------------------------------------------------------------------------------


class ProduceError(PulseError):
    """The broker did not accept a generated message."""


@dataclass
class ProduceReport:
    """What `produce` sent.

    Attributes:
        sent: Messages sent per kind (`valid`, `duplicate`, `invalid`).
        invalid_by_reason: Invalid messages sent per expected dead-letter reason.
        seconds: Wall-clock time from the first send to the end of the final flush.
    """

    sent: dict[str, int] = field(default_factory=lambda: {"valid": 0, "duplicate": 0, "invalid": 0})
    invalid_by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def valid(self) -> int:
        return self.sent["valid"]

    @property
    def duplicate(self) -> int:
        return self.sent["duplicate"]

    @property
    def invalid(self) -> int:
        return self.sent["invalid"]

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def count(self, message: GeneratedMessage) -> None:
        """Add one sent message."""
        self.sent[message.kind] += 1
        if message.reason is not None:
            reasons = self.invalid_by_reason
            reasons[message.reason] = reasons.get(message.reason, 0) + 1

    def __str__(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.invalid_by_reason.items()))
        rate = self.total / self.seconds if self.seconds else 0.0
        return (
            f"{self.total:,} messages ({self.valid:,} valid, {self.duplicate:,} duplicate, "
            f"{self.invalid:,} invalid{': ' + reasons if reasons else ''}) "
            f"in {self.seconds:.1f} s ({rate:,.0f}/s)"
        )


def produce(
    messages: Iterable[GeneratedMessage],
    bootstrap: str,
    topic: str,
    *,
    show_progress: bool = True,
    total: int | None = None,
) -> ProduceReport:
    """Send messages to `topic`, keyed, uncompressed, and wait until all are acknowledged.

    Args:
        messages: What to send, in order (usually `generate(config)`).
        bootstrap: Kafka bootstrap servers.
        topic: Target topic.
        show_progress: Show a rich progress bar.
        total: Expected number of messages, for the progress bar.

    Returns:
        Counts of what was sent and how long it took.

    Raises:
        ProduceError: The broker rejected a message or could not be reached.
    """
    report = ProduceReport()
    failures: list[BaseException] = []  # filled by the producer's I/O thread
    try:
        # Tansu, the embedded broker, does not serve compressed batches: never compress here.
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=20,
            batch_size=262_144,
            max_request_size=4 * MIB,
            compression_type=None,
        )
    except KafkaError as error:
        raise ProduceError(f"cannot reach Kafka at {bootstrap}: {error}") from error
    progress = Progress(
        TextColumn("producing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not show_progress,
    )
    started = time.perf_counter()
    try:
        with progress:
            task = progress.add_task("produce", total=total)
            for message in messages:
                if failures:
                    break  # stop early; the error is raised below
                future = producer.send(topic, key=message.key, value=message.value)
                future.add_errback(failures.append)
                report.count(message)
                if report.total % 1000 == 0:
                    progress.update(task, completed=report.total)
            producer.flush()
            progress.update(task, completed=report.total)
    except KafkaError as error:
        raise ProduceError(f"could not produce to {topic}: {error}") from error
    finally:
        producer.close(timeout=30)  # after a failure, do not wait forever for the rest
    if failures:
        raise ProduceError(f"could not produce to {topic}: {failures[0]}") from failures[0]
    report.seconds = time.perf_counter() - started
    return report
