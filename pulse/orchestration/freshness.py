"""Ingest freshness: has raw caught up with the end of the run's data interval?"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from pulse.errors import PulseError
from pulse.orchestration.runs import RunContext, update_run
from pulse.runtime import kafka_bootstrap, warehouse_dsn
from pulse.settings import Settings
from pulse.warehouse.gaps import GapRow, unresolved_gaps

logger = logging.getLogger(__name__)


class IngestNotFresh(PulseError):
    """Raw has not caught up with the data interval, and waiting longer is not allowed."""


# -- ingest freshness ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """Whether raw has caught up with the end of the interval, and why (not)."""

    interval_end: datetime
    checked_at: datetime
    watermark: datetime | None
    end_offsets: dict[int, int]
    stored_offsets: dict[int, int]
    max_lag: int
    fresh: bool
    reason: str
    lag_by_partition: dict[int, int] = field(default_factory=dict)
    gaps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_lag(self) -> int:
        return sum(self.lag_by_partition.values())

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("interval_end", "checked_at", "watermark"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        for key in ("end_offsets", "stored_offsets", "lag_by_partition"):
            data[key] = {str(k): v for k, v in sorted(data[key].items())}
        data["total_lag"] = self.total_lag
        return data


def assess_freshness(
    *,
    topic: str,
    interval_end: datetime,
    now: datetime,
    watermark: datetime | None,
    end_offsets: Mapping[int, int],
    stored_offsets: Mapping[int, int],
    max_lag: int,
    counted_lag: Mapping[int, int] | None = None,
    gaps: Sequence[GapRow] = (),
) -> Freshness:
    """Pure verdict: fresh when no unresolved ingest gap touches the interval, the consumer's
    stored offsets are within `max_lag` messages of the topic end AND raw reaches the interval
    end, i.e. holds an event at or after it, or the consumer has read everything there is (a
    quiet stream has no later event to show).

    A gap touches the interval when its window (from the last time ingest stored from the
    partition to the gap's detection) overlaps it: messages of the interval may be missing, and
    no amount of waiting brings them back, so only resolving the gap lets the interval pass.

    Topic ends are read after the interval ended, so a fully drained topic means every message
    produced during the interval is in raw. A partition's lag is the larger of end offset minus
    stored offset and `counted_lag`, the messages actually found after the stored offset (end
    offsets may under-report, as the embedded broker's do: docs/runbook.md).
    """
    counted = counted_lag or {}
    lag = {
        p: max(end - stored_offsets.get(p, 0), counted.get(p, 0), 0)
        for p, end in end_offsets.items()
    }
    total = sum(lag.values())
    mark = watermark.isoformat() if watermark else "nothing"

    def verdict(fresh: bool, reason: str) -> Freshness:
        return Freshness(
            interval_end=interval_end,
            checked_at=now,
            watermark=watermark,
            end_offsets=dict(end_offsets),
            stored_offsets=dict(stored_offsets),
            max_lag=max_lag,
            fresh=fresh,
            reason=reason,
            lag_by_partition=lag,
            gaps=[gap.as_dict() for gap in gaps],
        )

    if now < interval_end:
        return verdict(False, f"the interval ends at {interval_end.isoformat()}, in the future")
    if gaps:
        return verdict(
            False,
            f"{len(gaps)} unresolved ingest gap(s) of {topic} touch this interval: "
            + "; ".join(gap.describe() for gap in gaps)
            + ". Check what is missing, then `pulse gaps --resolve ID`",
        )
    if not end_offsets:
        return verdict(False, f"topic {topic} has no partitions (does it exist?)")
    if total > max_lag:
        behind = ", ".join(f"partition {p}: {n:,}" for p, n in sorted(lag.items()) if n)
        return verdict(
            False,
            f"ingest is {total:,} messages behind the end of {topic} (allowed {max_lag:,}; "
            f"{behind}); raw holds events up to {mark}",
        )
    if total > 0 and (watermark is None or watermark < interval_end):
        return verdict(
            False,
            f"raw holds events up to {mark} only, before the interval end "
            f"{interval_end.isoformat()}, and ingest is {total:,} messages behind",
        )
    return verdict(
        True,
        f"raw holds events up to {mark}; ingest is {total:,} messages behind the topic end "
        f"(allowed {max_lag:,})",
    )


def _topic_positions(
    bootstrap: str, topic: str, stored: Mapping[int, int], count_up_to: int, idle_s: float = 0.5
) -> tuple[dict[int, int], dict[int, int]]:
    """(end offset, messages counted after the stored offset) per partition of `topic`.

    Counting reads at most `count_up_to` messages per partition (enough to tell "more than the
    allowed lag" apart), so it stays cheap however far behind ingest is.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="pulse-freshness",
        enable_auto_commit=False,
        request_timeout_ms=30_000,
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return {}, {}
        ends = {tp.partition: int(offset) for tp, offset in consumer.end_offsets(tps).items()}
        consumer.assign(tps)
        for tp in tps:
            if tp.partition in stored:
                consumer.seek(tp, stored[tp.partition])
            else:
                consumer.seek_to_beginning(tp)
        counted = dict.fromkeys(ends, 0)
        started = last = time.monotonic()
        while time.monotonic() - last < idle_s and time.monotonic() - started < 10:
            polled = consumer.poll(timeout_ms=100)
            for tp, records in polled.items():
                last = time.monotonic()
                counted[tp.partition] += len(records)
                if counted[tp.partition] >= count_up_to:
                    consumer.pause(tp)
            if all(n >= count_up_to for n in counted.values()):
                break
        return ends, counted
    finally:
        consumer.close()


def check_freshness(
    settings: Settings,
    interval_end: datetime,
    now: datetime | None = None,
    *,
    interval_start: datetime | None = None,
) -> Freshness:
    """Read the stored offsets, raw's watermark, the unresolved gaps touching the interval
    ([interval_start, interval_end); no start: everything before the end) and the topic's
    positions; return the verdict."""
    dsn = warehouse_dsn(settings)
    max_lag = settings.freshness_max_lag
    with psycopg.connect(dsn) as conn:
        stored = dict(
            conn.execute(
                "select partition, next_offset from raw.consumer_offsets "
                "where consumer_group = %s and topic = %s",
                [settings.consumer_group, settings.events_topic],
            ).fetchall()
        )
        # Events dated beyond the ingest tolerance are rejected by the consumer; the bound keeps
        # a stray one from passing for a watermark.
        row = conn.execute(
            "select max(occurred_at) from raw.community_events "
            "where occurred_at <= now() + make_interval(secs => %s)",
            [settings.future_tolerance_s],
        ).fetchone()
        gaps = unresolved_gaps(
            conn,
            settings.events_topic,
            settings.consumer_group,
            touching=(interval_start, interval_end),
        )
    ends, counted = _topic_positions(
        kafka_bootstrap(settings), settings.events_topic, stored, max_lag + 1
    )
    return assess_freshness(
        topic=settings.events_topic,
        interval_end=interval_end,
        now=now or datetime.now(UTC),
        watermark=row[0] if row else None,
        end_offsets=ends,
        stored_offsets=stored,
        max_lag=max_lag,
        counted_lag=counted,
        gaps=gaps,
    )


def ingest_freshness(
    settings: Settings, run: RunContext, *, waited_s: float, timeout_s: float | None = None
) -> Freshness:
    """One poke of the freshness check.

    Returns:
        The verdict; when it is not fresh the caller waits and asks again.

    Raises:
        IngestNotFresh: not fresh and the run has waited `timeout_s` (default: the
            freshness_timeout_s setting) already; the failure is recorded.
    """
    timeout = float(settings.freshness_timeout_s if timeout_s is None else timeout_s)
    dsn = warehouse_dsn(settings)
    started = time.perf_counter()
    freshness = check_freshness(settings, run.interval_end, interval_start=run.interval_start)
    seconds = time.perf_counter() - started
    record = {"freshness": {**freshness.as_dict(), "waited_s": round(waited_s, 1)}}
    if freshness.fresh:
        update_run(dsn, run, step="ingest_freshness", seconds=seconds, details=record)
        logger.info("ingest is fresh: %s", freshness.reason)
        return freshness
    if waited_s >= timeout:
        error = IngestNotFresh(
            f"ingest is not fresh for the interval {run.interval_start.isoformat()} to "
            f"{run.interval_end.isoformat()} after waiting {waited_s:.0f} s: {freshness.reason}. "
            "Is the consumer (`pulse consume`) running and keeping up?"
        )
        update_run(dsn, run, step="ingest_freshness", seconds=seconds, details=record, error=error)
        raise error
    logger.info(
        "ingest not fresh yet (waited %.0f s of %.0f): %s", waited_s, timeout, freshness.reason
    )
    return freshness
