"""How values are written into the stream: compact JSON, JSON string literals and RFC 3339
timestamps, as fast as the hot paths need them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from pulse.local.generator.config import DAY_MS, MINUTE_MS

# Both are the json module's C encoders, bound once: they run for every event with free text.
_dumps = json.JSONEncoder(separators=(",", ":")).encode
_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]

# The date part is formatted once per day and the hour and minute come from a table, because
# `datetime.isoformat()` per event would be one of the generator's larger costs.
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
