"""Who acts in the simulation and what they write: times of day, members drawn uniformly or by
activity weight, staff accounts, and the optional text and sentiment of an item."""

from __future__ import annotations

import bisect

from pulse.local.generator.config import DAY_MS
from pulse.local.generator.encoding import _json_string
from pulse.local.generator.events import _EventWriter
from pulse.local.generator.planted import CRISIS_MOOD, in_window
from pulse.local.generator.vocabulary import (
    NEGATIVE_CLOSERS,
    NEGATIVE_WORDS,
    NEUTRAL_CLOSERS,
    NOUNS,
    POSITIVE_CLOSERS,
    POSITIVE_WORDS,
    WEEKDAYS,
)
from pulse.local.generator.world import _Community

_SENTIMENT_RANGES = ((0.2, 0.95), (-0.15, 0.15), (-0.95, -0.25))  # by mood


class _Actors(_EventWriter):
    """Draws who acts, when in the day, and the text they write, from the simulation's RNG."""

    def _time_of_day(self) -> int:
        """Milliseconds into the day at which a post or idea appears."""
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
            if c.gone_ms[i] > acts_at and not self._silenced(c, i, acts_at):
                return i
        return None

    def _pick_active(self, c: _Community, seen_at: int, acts_at: int) -> int | None:
        """A non-lurking member present at `seen_at` and at `acts_at`, by activity weight."""
        index, join_ms, cum = c.active_index, c.active_join_ms, c.active_cum
        if c.quiet_pool is not None and in_window(c.quiet, acts_at):
            index, join_ms, cum = c.quiet_pool  # a planted quiet spell: the others act
        joined = bisect.bisect_right(join_ms, seen_at)
        if joined == 0:
            return None
        for _ in range(4):
            position = bisect.bisect_right(cum, self.rng.random() * cum[joined - 1], 0, joined - 1)
            i = index[position]
            if c.gone_ms[i] > acts_at:
                return i
        return None

    @staticmethod
    def _silenced(c: _Community, i: int, at_ms: int) -> bool:
        """Member `i` is in a planted quiet spell at `at_ms` (planted.py): they do nothing."""
        return c.quiet is not None and i in c.quiet_members and in_window(c.quiet, at_ms)

    def _staff(self, c: _Community) -> int:
        """A staff account of `c` (member index below `n_staff`)."""
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
        elif c.crisis is not None and in_window(c.crisis, at_ms):
            p_positive, p_negative = CRISIS_MOOD  # a planted crisis
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
        """A short English sentence of mood 0 (positive), 1 (neutral) or 2 (negative)."""
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
