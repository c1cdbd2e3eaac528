"""Gaps: a stored offset that the partition no longer has (docs/contracts.md, "Gaps").

Causes, as told apart from what the broker reports:

- `topic_recreated`: the topic's id differs from the one stored with the offset (the topic was
  deleted and created again; the memory-only embedded broker restarted).
- `beyond_end`: the partition ends before the stored offset (a recreation the broker gave no topic
  id for, or a truncated log). Fetches, not ListOffsets, tell the end: the embedded broker's
  ListOffsets under-reports it.
- `before_start`: the partition starts after the stored offset (retention, or deleted records,
  removed messages nobody had read).

One rule for all: record the gap, log it as an error, and resume from the partition's earliest
available offset. After `topic_recreated` and `beyond_end` the partition's offsets are reused, so
its epoch goes up and dead letters stay unique by (topic, partition, epoch, offset).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CAUSES = ("topic_recreated", "beyond_end", "before_start")
OFFSETS_REUSED = frozenset({"topic_recreated", "beyond_end"})


@dataclass(frozen=True)
class Gap:
    """One detected gap, as raw.ingest_gaps records it."""

    topic: str
    partition: int
    stored_offset: int
    cause: str
    resume_offset: int
    log_start: int | None = None
    log_end: int | None = None
    topic_id_before: str | None = None
    topic_id_after: str | None = None
    lost_from: datetime | None = None

    @property
    def reuses_offsets(self) -> bool:
        """True when offsets at or below the stored one will be seen again (epoch goes up)."""
        return self.cause in OFFSETS_REUSED

    def describe(self) -> str:
        """One line for the log and for `pulse status`."""
        return (
            f"{self.topic}[{self.partition}]: stored offset {self.stored_offset}, partition "
            f"starts at {_fmt(self.log_start)} and ends at {_fmt(self.log_end)} ({self.cause}); "
            f"resuming at {self.resume_offset}"
        )


def classify(
    stored: int,
    *,
    log_start: int | None,
    log_end: int | None,
    topic_id_stored: str | None = None,
    topic_id_now: str | None = None,
) -> str | None:
    """The cause of the gap at `stored`, or None when the partition still holds that offset.

    Args:
        stored: the next offset stored in Postgres.
        log_start: the partition's earliest available offset (None: unknown).
        log_end: the partition's end as a fetch reported it (None: unknown).
        topic_id_stored: the topic id stored with the offset (None: not known then).
        topic_id_now: the topic id the broker reports now (None: the broker gives none).
    """
    if topic_id_stored and topic_id_now and topic_id_stored != topic_id_now:
        return "topic_recreated"
    if log_start is not None and stored < log_start:
        return "before_start"
    if log_end is not None and stored > log_end:
        return "beyond_end"
    return None


def _fmt(value: int | None) -> str:
    return "?" if value is None else str(value)
