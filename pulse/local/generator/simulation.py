"""The day-by-day simulation: turns the world into valid events (announcements, membership,
posts, ideas, erasures), one day at a time, in stream order."""

from __future__ import annotations

from collections.abc import Iterator

from pulse.local.generator.config import DAY_MS
from pulse.local.generator.draws import _poisson
from pulse.local.generator.encoding import _dumps
from pulse.local.generator.engagement import _Engagement
from pulse.local.generator.events import _Pending
from pulse.local.generator.ideas import _Ideas
from pulse.local.generator.planted import first_idea_at, in_window
from pulse.local.generator.world import _Community


class _Simulation(_Engagement, _Ideas):
    """Turns the world into valid events, one day at a time.

    Each day's membership changes come from the world's timeline; its posts and ideas are drawn
    from the calibrated rates; erasures come last, so they follow the member's own activity.
    """

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
                if c.unanswered is not None and in_window((day_start, day_end), c.unanswered[0]):
                    self._idea(c, first_idea_at(c.unanswered))  # a planted stretch begins
            # After the day's activity, so `acted` covers everything before the erasure.
            for at, c, i in erasures:
                if c.acted[i]:
                    self._emit(at, c, c.member_ids[i], "member.erased", "{}")
            yield from self._deliver(d)
