"""Seeded random draws the simulation relies on: UUID4s, binomial and Poisson counts, and
log-normal delays from precomputed quantile tables."""

from __future__ import annotations

import math
import random
from statistics import NormalDist

from pulse.local.generator.config import MINUTE_MS

_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def _uuid4(rng: random.Random) -> str:
    """`str(uuid.UUID(int=rng.getrandbits(128), version=4))`, without the object overhead."""
    h = ((rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET).to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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
    """Poisson draw: Knuth's product of uniforms up to a mean of 30, a rounded normal above."""
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


# The simulation's follow-up delays (ms), one table per kind of follow-up.
FIRST_COMMENT_DELAYS = _delays(45, 1.3, 48)  # median 45 min: minutes to hours
NEXT_COMMENT_DELAYS = _delays(90, 1.3, 48)  # after the first comment
REACTION_DELAYS = _delays(90, 1.2, 48)
SHARE_DELAYS = _delays(180, 1.2, 72)
UNDO_DELAYS = _delays(180, 1.0, 72)  # reaction.added -> reaction.removed
IDEA_FOLLOW_UP_DELAYS = _delays(240, 1.0, 96)  # comments and reactions on ideas
REACTION_FOLLOW_DELAYS = _delays(4, 1.0, 2)  # a heavy engager's next reaction of a visit
