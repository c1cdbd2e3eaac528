"""Invalid messages, each built to fail for the dead-letter reason it is labelled with."""

from __future__ import annotations

import random
from typing import Any

from pulse.local.generator.config import MIB, GeneratedMessage
from pulse.local.generator.draws import _uuid4
from pulse.local.generator.encoding import _dumps, _timestamp
from pulse.local.generator.world import _World

INVALID_REASONS = (
    "invalid_json",
    "invalid_utf8",
    "schema_violation",
    "unknown_event_type",
    "future_timestamp",
)
_BAD_BYTES = b"\xff\xfe"


class _InvalidFactory:
    """Builds messages that really fail for the reason they are labelled with."""

    def __init__(self, world: _World, rng: random.Random) -> None:
        self.communities = world.communities
        self.rng = rng
        self.turns = {reason: 0 for reason in (*INVALID_REASONS, "oversized")}

    def make(self, reason: str, at_ms: int) -> GeneratedMessage:
        """The next invalid message for `reason`, dated `at_ms`, in a random community."""
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
        """The value: `event` broken as `reason` says, the variant chosen by `turn`."""
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
