"""What `pulse status` knows and its verdict: the services, the positions, raw, the checks of
`--check` (exit codes below) and the JSON of `--json`. Pure: collect.py asks the services."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pulse.warehouse.gaps import GapRow

# `pulse status --check` exit codes (README, "How to operate"); 2 is the CLI's usage error.
EXIT_OK = 0
EXIT_SERVICE_DOWN = 1  # Kafka or PostgreSQL does not answer (also: the stack was never set up)
EXIT_LAG = 3  # ingest is more than PULSE_STATUS_MAX_LAG messages behind the topic end
EXIT_STALE = 4  # messages wait, and raw's newest row is older than PULSE_STATUS_MAX_RAW_AGE_S
CHECK_CODES = {"service_down": EXIT_SERVICE_DOWN, "lag": EXIT_LAG, "stale": EXIT_STALE}

# Below this many rows raw.community_events is counted exactly (a LIMIT bounds the read).
EXACT_COUNT_LIMIT = 100_000


# -- what status knows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """One service as status saw it: `up` when it answered within the timeout."""

    name: str  # "postgres" | "kafka"
    where: str
    embedded: bool
    up: bool
    error: str | None = None
    process: str | None = None  # the embedded stack's process: "running" | "stopped"


@dataclass(frozen=True)
class Position:
    """One partition of the inbound topic: its end, the offset stored in PostgreSQL, the lag."""

    partition: int
    end_offset: int | None
    stored_offset: int | None
    epoch: int | None
    lag: int | None


@dataclass(frozen=True)
class RowCount:
    """Rows of a table and how they were found: `count` (exact), `pg_class.reltuples` (the
    planner's estimate) or `lower bound` (more than the exact-count limit, no estimate yet)."""

    rows: int
    exact: bool
    method: str


@dataclass(frozen=True)
class Problem:
    """A failed check of `--check`: its name (a key of CHECK_CODES) and what was seen."""

    check: str
    message: str

    @property
    def code(self) -> int:
        return CHECK_CODES[self.check]


@dataclass
class Warehouse:
    """What PostgreSQL said."""

    now: datetime
    stored: dict[int, tuple[int, int]]  # partition -> (next offset, epoch)
    events: RowCount
    newest_ingested_at: datetime | None
    newest_occurred_at: datetime | None
    duplicates: int
    dead_letters: list[tuple[str, int, int]]  # (reason, rows, not on the DLQ topic)
    gaps: list[GapRow]
    key_fingerprint: str | None
    last_run: dict[str, Any] | None
    last_success: dict[str, Any] | None

    @property
    def raw_age_s(self) -> float | None:
        """Seconds since the newest row of raw was ingested (the warehouse's clock)."""
        if self.newest_ingested_at is None:
            return None
        return max((self.now - self.newest_ingested_at).total_seconds(), 0.0)


@dataclass
class Status:
    """Everything `pulse status` shows, and the verdict of `--check`."""

    checked_at: datetime
    topic: str
    consumer_group: str
    services: list[Service]
    max_lag: int
    max_raw_age_s: float
    end_offsets: dict[int, int] | None = None  # None: Kafka did not answer
    topic_mismatches: list[str] = field(default_factory=list)
    warehouse: Warehouse | None = None  # None: PostgreSQL did not answer
    configured_key_fingerprint: str | None = None

    # -- derived ---------------------------------------------------------------------------------

    @property
    def positions(self) -> list[Position]:
        ends = self.end_offsets or {}
        stored = self.warehouse.stored if self.warehouse else {}
        found = []
        for partition in sorted(set(ends) | set(stored)):
            end = ends.get(partition)
            done, epoch = stored.get(partition, (None, None))
            lag = None if end is None or self.warehouse is None else max(end - (done or 0), 0)
            found.append(Position(partition, end, done, epoch, lag))
        return found

    @property
    def total_lag(self) -> int | None:
        """Messages between the stored offsets and the topic end, all partitions; None when
        either side did not answer or the topic has no partitions."""
        if not self.end_offsets or self.warehouse is None:
            return None
        return sum(p.lag or 0 for p in self.positions if p.end_offset is not None)

    @property
    def stale(self) -> bool:
        """Messages wait and raw's newest row is older than the allowed age (or raw is empty)."""
        lag, warehouse = self.total_lag, self.warehouse
        if not lag or warehouse is None:
            return False
        age = warehouse.raw_age_s
        return age is None or age > self.max_raw_age_s

    def problems(self) -> list[Problem]:
        """The failed checks, in the order of their exit codes."""
        found = [
            Problem("service_down", f"{s.name} is down: {s.error or 'no answer'}")
            for s in self.services
            if not s.up
        ]
        lag = self.total_lag
        if lag is not None and lag > self.max_lag:
            found.append(
                Problem(
                    "lag",
                    f"ingest is {lag:,} messages behind the end of {self.topic} "
                    f"(allowed {self.max_lag:,}: PULSE_STATUS_MAX_LAG)",
                )
            )
        if self.stale:
            age = self.warehouse.raw_age_s if self.warehouse else None
            since = "raw holds no event" if age is None else f"raw's newest row is {age:,.0f} s old"
            found.append(
                Problem(
                    "stale",
                    f"{since} while {lag:,} messages wait on {self.topic} "
                    f"(allowed {self.max_raw_age_s:,.0f} s: PULSE_STATUS_MAX_RAW_AGE_S)",
                )
            )
        return found

    def warnings(self) -> list[str]:
        """What an operator should look at that `--check` does not fail on."""
        found = [f"topic differs from the settings: {m}" for m in self.topic_mismatches]
        warehouse = self.warehouse
        if warehouse is None:
            return found
        if warehouse.gaps:
            found.append(
                f"{len(warehouse.gaps)} unresolved ingest gap(s): `pulse gaps`, then "
                "`pulse gaps --resolve ID`"
            )
        if (
            warehouse.key_fingerprint is not None
            and self.configured_key_fingerprint is not None
            and warehouse.key_fingerprint != self.configured_key_fingerprint
        ):
            found.append("the configured pseudonym key is not the warehouse's: ingest refuses it")
        if warehouse.last_run is not None and warehouse.last_run["status"] == "failed":
            run = warehouse.last_run
            found.append(
                f"the last community_metrics run failed at {run['failed_step']}: {run['error']}"
            )
        return found

    def exit_code(self, check: bool) -> int:
        """`--check`: the lowest code of the failed checks (0: none). Without it: 1 when a
        service is down, else 0."""
        codes = [p.code for p in self.problems()]
        if not check:
            codes = [c for c in codes if c == EXIT_SERVICE_DOWN]
        return min(codes, default=EXIT_OK)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `pulse status --json` (timestamps ISO 8601, UTC offsets kept)."""
        warehouse = self.warehouse
        problems = self.problems()
        data: dict[str, Any] = {
            "checked_at": self.checked_at.isoformat(),
            "ok": not problems,
            "check_exit_code": min((p.code for p in problems), default=EXIT_OK),
            "problems": [
                {"check": p.check, "code": p.code, "message": p.message} for p in problems
            ],
            "warnings": self.warnings(),
            "services": [asdict(s) for s in self.services],
            "topic": self.topic,
            "consumer_group": self.consumer_group,
            "partitions": [asdict(p) for p in self.positions],
            "lag": {"total": self.total_lag, "max_allowed": self.max_lag},
            "topic_mismatches": list(self.topic_mismatches),
            "raw": None,
            "freshness": None,
            "gaps": None,
            "pseudonym_key": None,
            "last_run": None,
            "last_successful_run": None,
        }
        if warehouse is None:
            return data
        data["raw"] = {
            "community_events": asdict(warehouse.events),
            "duplicates_dropped": warehouse.duplicates,
            "dead_letters": {
                reason: {"rows": rows, "not_on_dlq_topic": unpublished}
                for reason, rows, unpublished in warehouse.dead_letters
            },
        }
        data["freshness"] = {
            "newest_ingested_at": _iso(warehouse.newest_ingested_at),
            "newest_occurred_at": _iso(warehouse.newest_occurred_at),
            "raw_age_s": _round(warehouse.raw_age_s),
            "max_raw_age_s": self.max_raw_age_s,
            "stale": self.stale,
        }
        data["gaps"] = [gap.as_dict() for gap in warehouse.gaps]
        data["pseudonym_key"] = {
            "warehouse_fingerprint": (warehouse.key_fingerprint or "")[:12] or None,
            "matches_configured": (
                None
                if warehouse.key_fingerprint is None or self.configured_key_fingerprint is None
                else warehouse.key_fingerprint == self.configured_key_fingerprint
            ),
        }
        data["last_run"] = _jsonable(warehouse.last_run)
        data["last_successful_run"] = _jsonable(warehouse.last_success)
        return data


# -- helpers ---------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _jsonable(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
