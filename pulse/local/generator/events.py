"""The simulation's event writer: each event's envelope, its delivery day (late ones
included) and its place in the stream, plus the reactions that posts and ideas both get."""

from __future__ import annotations

import bisect
import random

from pulse.local.generator.config import DAY_MS
from pulse.local.generator.draws import UNDO_DELAYS, _uuid4
from pulse.local.generator.encoding import _timestamp
from pulse.local.generator.vocabulary import REACTION_CUM, REACTIONS
from pulse.local.generator.world import SPIKE_DAYS, _Community, _World
from streaming.contracts import EVENT_TYPES

REACTION_REMOVED_SHARE = 0.04  # of reactions, removed again later by the same member
LATE_SHARE = 0.01  # of the events that may be late, delivered 1-2 days after they occurred

_Pending = tuple[int, int, bytes, str, bytes]  # emit ms, sequence, key, event id, value
_TYPE_PART = {
    event_type: f'","event_type":"{event_type}","schema_version":1,"occurred_at":"'
    for event_type in EVENT_TYPES
}


class _EventWriter:
    """Schedules the simulation's events into per-day buckets and hands them out in stream order.

    Payload JSON is written by hand: apart from free text (escaped by the json module's C
    encoder) every value is one of our own identifiers or enum members, and `json.dumps` per event
    would cost a third of the generation time.

    The simulation is one object built up in layers, one module each: this writer, `_Actors`,
    then `_Engagement` and `_Ideas`, joined by `_Simulation`. They share the RNG, the buckets and
    the id counter, and every draw must come from that one RNG in the same order, so separate
    collaborating objects would add attribute lookups to the hot paths and gain nothing.
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

    def _deliver(self, day: int) -> list[_Pending]:
        """Hand out the events delivered on `day`, by delivery time (then scheduling order)."""
        bucket, self.buckets[day] = self.buckets[day], []
        bucket.sort()
        return bucket

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
        if c.quiet is not None and i in c.quiet_members and c.quiet[0] <= at_ms < c.quiet[1]:
            return False  # a planted quiet spell (planted.py): whatever else drew them, nothing
        # An erasing member's events all arrive before the erasure, so it can clean them up.
        if self._emit(at_ms, c, c.member_ids[i], event_type, payload, not c.erasing[i]):
            c.acted[i] = 1
            return True
        return False

    def _next_id(self, prefix: str) -> str:
        """A fresh post, comment or idea id (`p17`, `c18`, `i19`): one counter for all."""
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _react(
        self,
        c: _Community,
        when: int,
        member: int,
        target_type: str,
        target_id: str,
        reaction: str | None = None,
    ) -> None:
        """A reaction by member `member` (a kind drawn unless given), now and then removed later."""
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
