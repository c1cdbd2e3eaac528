"""Reading and resolving raw.ingest_gaps: stored offsets a partition no longer had.

Ingest records a gap when it resumes elsewhere than where it stopped (streaming/gaps.py). The
messages produced between `lost_from` (the last time ingest stored from the partition) and
`detected_at` may be missing from raw; until an operator resolves the gap, the freshness check
fails every interval that window touches (pulse/orchestration/freshness.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from pulse.errors import PulseError


@dataclass(frozen=True)
class GapRow:
    """One row of raw.ingest_gaps."""

    gap_id: int
    partition: int
    cause: str
    stored_offset: int
    log_start_offset: int | None
    log_end_offset: int | None
    resume_offset: int
    lost_from: datetime | None
    detected_at: datetime

    def describe(self) -> str:
        start = "?" if self.log_start_offset is None else self.log_start_offset
        end = "?" if self.log_end_offset is None else self.log_end_offset
        since = self.lost_from.isoformat() if self.lost_from else "the beginning"
        return (
            f"gap {self.gap_id} on partition {self.partition} ({self.cause}): stored offset "
            f"{self.stored_offset}, partition {start}..{end}, resumed at {self.resume_offset}; "
            f"messages from {since} to {self.detected_at.isoformat()} may be missing"
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("lost_from", "detected_at"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        return data


_COLUMNS = sql.SQL(", ").join(
    map(
        sql.Identifier,
        (
            "gap_id",
            "partition",
            "cause",
            "stored_offset",
            "log_start_offset",
            "log_end_offset",
            "resume_offset",
            "lost_from",
            "detected_at",
        ),
    )
)


def unresolved_gaps(
    conn: psycopg.Connection,
    topic: str,
    consumer_group: str,
    *,
    touching: tuple[datetime | None, datetime] | None = None,
) -> list[GapRow]:
    """Unresolved gaps of `topic` for `consumer_group`, oldest first.

    Args:
        conn: a connection that may read raw.
        topic: the inbound topic.
        consumer_group: the ingest consumer group.
        touching: only the gaps whose window [lost_from, detected_at] overlaps this interval
            [start, end) (start None: from the beginning of time).
    """
    present = conn.execute("select to_regclass('raw.ingest_gaps')").fetchone()
    if not present or present[0] is None:
        return []  # a warehouse from before gaps were recorded
    start, end = touching if touching is not None else (None, None)
    query = sql.SQL(
        "select {} from raw.ingest_gaps "
        "where topic = %(topic)s and consumer_group = %(group)s and resolved_at is null "
        "and (%(end)s::timestamptz is null or coalesce(lost_from, '-infinity') < %(end)s) "
        "and (%(start)s::timestamptz is null or detected_at >= %(start)s) "
        "order by detected_at, gap_id"
    ).format(_COLUMNS)
    rows = conn.execute(
        query, {"topic": topic, "group": consumer_group, "start": start, "end": end}
    ).fetchall()
    return [GapRow(*row) for row in rows]


def resolve_gap(dsn: str, gap_id: int, resolution: str) -> GapRow:
    """Mark a gap resolved (e.g. the missing messages were produced again, or accepted as lost).

    Raises:
        PulseError: there is no unresolved gap with that id.
    """
    with psycopg.connect(dsn) as conn:
        query = sql.SQL(
            "update raw.ingest_gaps set resolved_at = now(), resolution = %s "
            "where gap_id = %s and resolved_at is null returning {}"
        ).format(_COLUMNS)
        row = conn.execute(query, [resolution, gap_id]).fetchone()
    if row is None:
        raise PulseError(f"no unresolved ingest gap with id {gap_id}")
    return GapRow(*row)
