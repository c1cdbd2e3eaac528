"""The world drawn up front: brands, communities, members, the membership timeline (joins,
leaves, erasures) and the calibration of post and idea rates to the configured `events`."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as dtime

from pulse.local.generator.config import DAY_MS, HOUR_MS, MINUTE_MS, GeneratorConfig
from pulse.local.generator.planted import (
    CRISIS_BUSIER,
    OVERPOSTING_BUSIER,
    TINY_SIZE,
    PlantedIncident,
    in_window,
    plant,
)
from pulse.local.generator.trends import Trend, plan_trends
from pulse.local.generator.vocabulary import (
    BROAD_TOPICS,
    CONTENT_TYPES,
    JOIN_SOURCE_CUM,
    JOIN_SOURCES,
    MICRO_TOPICS,
    PLATFORMS,
)

P_MICRO = 0.08  # per-member chance to engage with a micro-community post
IDEA_EVENT_SHARE = 0.04  # of the events left after community and membership events
MAX_MEMBER_SHARE = 0.45  # members (joins) may take at most this share of the events
SPIKE_DAYS = 3  # the last days, when each brand's busiest broad community turns negative
FOUNDING_SHARE = 0.35  # of joiners, in the first two days (of those who join at all)
# Members from before the span count as present from here on: after the staff accounts join (at
# 1-3 minutes) and before any newcomer (from 10 minutes).
PREEXISTING_FROM_MS = 5 * MINUTE_MS
# The platform's member/follower count over the members simulated, by community kind.
AUDIENCE_FACTOR = {"micro": (1.1, 1.5), "broad": (1.5, 3.0)}


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
    # trending tags (trends.py) and the generator of their own that draws them for each post
    trends: tuple[Trend, ...] = ()
    tag_rng: random.Random | None = None
    # planted incidents (GeneratorConfig.plant_incidents): windows [start ms, end ms)
    loud: bool = False  # the brand's micro community where staff write ~90% of the posts
    control: bool = False  # the tiny community of the planted control
    crisis: tuple[int, int] | None = None
    collapse: tuple[int, int] | None = None
    overposting: tuple[int, int] | None = None
    unanswered: tuple[int, int] | None = None
    quiet: tuple[int, int] | None = None  # the quiet spell: its members do nothing in it
    quiet_members: frozenset[int] = frozenset()
    # active_index, active_join_ms and active_cum without the quiet members (planted.py)
    quiet_pool: tuple[list[int], list[int], list[float]] | None = None
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


def _to_ms(value: datetime) -> int:
    """Milliseconds since the epoch; naive values are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _default_end() -> datetime:
    """Today's midnight UTC, the end of the span when the config gives none."""
    return datetime.combine(datetime.now(UTC).date(), dtime(0), tzinfo=UTC)


def _audience_size(seed: int, c: _Community) -> int:
    """The platform's member/follower count of `c`: every member the run simulates (from before
    the span or not, seen or never) plus accounts that never show up at all.

    Drawn from a generator of its own (seeded by seed and community id), so that it leaves every
    other draw, and so every other event, as it is.
    """
    low, high = AUDIENCE_FACTOR[c.kind]
    return round(c.size * random.Random(f"audience:{seed}:{c.cid}").uniform(low, high))


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
        self.planted: list[PlantedIncident] = []
        self._plan_communities()
        if config.plant_incidents:
            self._plan_tiny_community()
        plan_trends(self.communities, config.seed, self.start_ms, self.span_ms)
        self._draw_members()
        self._calibrate()
        if config.plant_incidents:
            self.planted = plant(
                self.communities,
                self.start_ms,
                config.days,
                SPIKE_DAYS,
                lambda c, d: self.post_rate * self.post_weight(c, d),
            )

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
            loud.loud = True
            # The busiest community, so the spike is visible above the daily noise.
            max((c for c in own if c.kind == "broad"), key=lambda c: c.size).spike = True

    def _plan_tiny_community(self) -> None:
        """The planted control: a tiny micro community of the first brand (planting only)."""
        rng = random.Random(f"tiny:{self.config.seed}")
        brand_id = self.communities[0].brand_id
        cid = f"{brand_id}.micro.tiny_circle"
        community = _Community(
            index=len(self.communities),
            cid=cid,
            key=cid.encode(),
            brand_id=brand_id,
            kind="micro",
            name=f"{brand_id.replace('_', ' ').title()} Tiny Circle",
            topic="tiny_circle",
            visibility="private",
            platform="discord",
            size=TINY_SIZE,
            p_engage=P_MICRO,
            activity=1.0,
            brand_post_share=rng.uniform(0.05, 0.25),
            brand_comment_share=rng.uniform(0.03, 0.1),
            p_positive=0.5,
            p_negative=0.15,
            lurker_share=0.5,
            control=True,
        )
        community.content_cum = [1.0] * len(CONTENT_TYPES)  # text posts only
        community.audience_size = _audience_size(self.config.seed, community)
        self.communities.append(community)

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
        if c.crisis is not None and in_window(c.crisis, self.start_ms + d * DAY_MS):
            factor *= CRISIS_BUSIER  # a planted crisis, as loud
        if c.overposting is not None and in_window(c.overposting, self.start_ms + d * DAY_MS):
            factor *= OVERPOSTING_BUSIER  # a planted spell: the brand posts on top
        return factor

    def post_weight(self, c: _Community, d: int) -> float:
        return c.activity * max(c.daily_present[d], 1) ** 0.6 * self.day_factor(c, d)

    def idea_weight(self, c: _Community, d: int) -> float:
        return c.idea_factor * max(c.daily_present[d], 1) ** 0.5

    @staticmethod
    def votes_per_idea(present: int) -> float:
        return 1.5 + 0.005 * present
