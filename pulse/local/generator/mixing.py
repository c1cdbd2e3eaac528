"""Mixing duplicates and invalid messages into the valid stream, where the consumer will meet
them: duplicates 1-20 messages after their original, invalid messages spread evenly."""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator
from typing import Any

from pulse.local.generator.config import GeneratedMessage, GeneratorConfig, expected_messages
from pulse.local.generator.events import _Pending
from pulse.local.generator.invalid import INVALID_REASONS, _InvalidFactory
from pulse.local.generator.world import _World


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
