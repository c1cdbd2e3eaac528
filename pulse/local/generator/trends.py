"""Trending tags: what communities start talking about during the span.

Each brand runs one campaign tag in all of its communities (each picks it up within two days of
the brand's start), and each community has one trend of its own. A trend is on no post before
its start, then rises over `RISE_DAYS` to its peak share of posts, holds it for `HOLD_DAYS`, and
falls over `FADE_DAYS` to `FLOOR` of the peak, where it stays. So the tag counts of the topic
marts have a rising week for every trend (from nothing, or from a quiet tag) and a fading one.

Every draw here comes from generators of their own (seeded by the config's seed and the brand or
community id), so trends leave every other draw, and so every other event, as it is.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from pulse.local.generator.config import DAY_MS
from pulse.local.generator.vocabulary import CAMPAIGN_TAGS, COMMUNITY_TREND_TAGS

RISE_DAYS = 7
HOLD_DAYS = 7
FADE_DAYS = 14
FLOOR = 0.25  # of the peak, after the fade
CAMPAIGN_START = (0.35, 0.6)  # of the span
CAMPAIGN_PEAK = (0.25, 0.4)  # share of posts
CAMPAIGN_LAG_DAYS = 2.0  # a community picks the brand's campaign up this much later at most
OWN_START = (0.15, 0.7)
OWN_PEAK = (0.15, 0.3)


@dataclass(frozen=True, slots=True)
class Trend:
    """A tag that rises from `start_ms` to `peak`, the share of posts carrying it."""

    tag: str
    start_ms: int
    peak: float

    def share(self, at_ms: int) -> float:
        """The chance that a post at `at_ms` carries the tag."""
        days = (at_ms - self.start_ms) / DAY_MS
        if days < 0:
            return 0.0
        if days < RISE_DAYS:
            return self.peak * days / RISE_DAYS
        days -= RISE_DAYS + HOLD_DAYS
        if days < 0:
            return self.peak
        return self.peak * max(FLOOR, 1.0 - (1.0 - FLOOR) * days / FADE_DAYS)


class TrendingCommunity(Protocol):
    """What trends need of a community (world.py's, which imports this module: a protocol, not
    an import back, keeps the two out of a cycle)."""

    cid: str
    brand_id: str
    trends: tuple[Trend, ...]
    tag_rng: random.Random | None


def plan_trends(
    communities: Iterable[TrendingCommunity], seed: int, start_ms: int, span_ms: int
) -> None:
    """Give every community its trends and the generator its posts draw them with."""
    campaigns: dict[str, Trend] = {}
    for c in communities:
        if c.brand_id not in campaigns:
            brand = random.Random(f"trends:{seed}:{c.brand_id}")
            campaigns[c.brand_id] = Trend(
                tag=brand.choice(CAMPAIGN_TAGS),
                start_ms=start_ms + int(brand.uniform(*CAMPAIGN_START) * span_ms),
                peak=brand.uniform(*CAMPAIGN_PEAK),
            )
        campaign = campaigns[c.brand_id]
        own = random.Random(f"trends:{seed}:{c.cid}")
        lag = int(own.uniform(0, CAMPAIGN_LAG_DAYS) * DAY_MS)
        c.trends = (
            Trend(campaign.tag, campaign.start_ms + lag, campaign.peak),
            Trend(
                tag=own.choice(COMMUNITY_TREND_TAGS),
                start_ms=start_ms + int(own.uniform(*OWN_START) * span_ms),
                peak=own.uniform(*OWN_PEAK),
            ),
        )
        c.tag_rng = own


def trending_tags(c: TrendingCommunity, at_ms: int) -> list[str]:
    """The trends a post of `c` at `at_ms` carries (drawn from the community's own generator)."""
    found = []
    for trend in c.trends:
        share = trend.share(at_ms)
        if share and c.tag_rng is not None and c.tag_rng.random() < share:
            found.append(trend.tag)
    return found
