"""Which build a community_metrics run makes: full or incremental, and from which raw rows.

An incremental build reads only what arrived since the build BI sees now (the *base build*, the
last promotion) and what that changes (docs/architecture.md, "Incremental runs"):

- the **arrival window** `[arrived_from, arrived_through)` of `raw.community_events.ingested_at`.
  `arrived_through` is a moment of the warehouse's own clock taken when the raw gate starts
  (lowered to the start of the oldest transaction still writing, see `arrival_point`); the raw
  gate validates exactly these rows and dbt reads exactly these rows. `arrived_from` is the base
  build's `arrived_through` minus `PULSE_PIPELINE_ARRIVAL_MARGIN_S`: `ingested_at` is an ingest
  batch's transaction start, and a batch may commit after a later one started, so a row can
  become visible with an `ingested_at` below the last watermark. The overlap is read again and
  every model recomputes whole keys, so reading a row twice changes nothing.
- the **deletions** `(deletions_from, deletions_through]` of `raw.community_event_deletions`
  (what erasures took out of raw, without the member), taken after the run's own erasures.

The watermark a run starts from is the base build's (quality.build_watermarks, written only
after `dbt build` succeeded) and it moves only when a build is promoted, so a failed gate or a
run that died never moves it: the next run reads the failed run's window again.

A full build (every table rebuilt from all of raw) is made when asked (`pulse run
--full-refresh`, DAG param `full_refresh`) and whenever an incremental one would have nothing
sound to start from: no promoted build, no watermark for it, its schema gone, a shared table
missing, or dbt SQL that changed since it was built (its fingerprint).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import psycopg

from pulse.paths import DBT_PROJECT_DIR
from pulse.settings import Settings

logger = logging.getLogger(__name__)

FULL = "full"
INCREMENTAL = "incremental"
# A dbt model keeps state between runs when it takes this materialization (macros/incremental.sql).
_STATEFUL = re.compile(r"materialized\s*=\s*stateful_materialization\(\)")


@dataclass(frozen=True)
class BuildPlan:
    """What one run's build reads and where it starts from."""

    mode: str  # FULL or INCREMENTAL
    reason: str  # why this mode
    base_build: str | None  # incremental: the validated build whose marts are copied
    arrived_from: datetime | None  # None: from the first row raw ever held
    arrived_through: datetime
    deletions_from: int | None = None  # incremental: the base build's deletions_through
    deletions_through: int | None = None  # set by the build step, after its erasures

    @property
    def incremental(self) -> bool:
        return self.mode == INCREMENTAL

    def dbt_vars(self) -> dict[str, Any]:
        """The dbt variables of the build (macros/incremental.sql)."""
        found: dict[str, Any] = {"arrived_through": self.arrived_through.isoformat()}
        if self.deletions_through is not None:
            found["deletions_through"] = self.deletions_through
        if self.incremental:
            assert self.arrived_from is not None and self.base_build is not None
            found.update(
                arrived_from=self.arrived_from.isoformat(),
                base_build=self.base_build,
                deletions_from=self.deletions_from or 0,
            )
        return found

    def columns(self) -> dict[str, Any]:
        """What quality.pipeline_runs records of the plan."""
        return {
            "build_mode": self.mode,
            "build_mode_reason": self.reason,
            "base_build": self.base_build,
            "arrived_from": self.arrived_from,
            "arrived_through": self.arrived_through,
            "deletions_through": self.deletions_through,
        }


@dataclass(frozen=True)
class Watermark:
    """A completed build's row of quality.build_watermarks."""

    build_schema: str
    arrived_through: datetime
    deletions_through: int
    dbt_fingerprint: str


def dbt_fingerprint() -> str:
    """sha256 of the dbt project's SQL and configuration: a build of other SQL is no base."""
    digest = hashlib.sha256()
    files = [DBT_PROJECT_DIR / "dbt_project.yml"]
    for folder in ("models", "macros"):
        files += sorted(p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file())
    for path in files:
        digest.update(path.relative_to(DBT_PROJECT_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def stateful_relations() -> list[tuple[str, str]]:
    """(schema, table) of every model that keeps state between runs (staging, intermediate)."""
    found = []
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.sql")):
        if _STATEFUL.search(path.read_text()):
            layer = path.relative_to(DBT_PROJECT_DIR / "models").parts[0]
            found.append((layer, path.stem))
    return found


def arrival_point(conn: psycopg.Connection) -> datetime:
    """The warehouse's now(), lowered to the start of the oldest transaction that has written
    and not committed yet (visible ones: it may still add rows with that `ingested_at`).

    The margin covers what this cannot see (sessions of other roles, without the rights to see
    them); this covers a batch transaction that lasts longer than the margin."""
    row = conn.execute(
        "select least(statement_timestamp(), min(xact_start)) from pg_stat_activity "
        "where backend_xid is not null and pid <> pg_backend_pid() "
        "and datname = current_database()"
    ).fetchone()
    assert row is not None and row[0] is not None
    return row[0]


def live_watermark(conn: psycopg.Connection) -> tuple[str | None, Watermark | None]:
    """(the build `marts` shows, its watermark if it has one)."""
    row = conn.execute(
        "select build_schema from quality.promotions "
        "order by promoted_at desc, promotion_id desc limit 1"
    ).fetchone()
    if row is None:
        return None, None
    live = str(row[0])
    mark = conn.execute(
        "select build_schema, arrived_through, deletions_through, dbt_fingerprint "
        "from quality.build_watermarks where build_schema = %s",
        [live],
    ).fetchone()
    return live, (Watermark(*mark) if mark else None)


def _missing_relations(conn: psycopg.Connection, relations: list[tuple[str, str]]) -> list[str]:
    present = {
        (row[0], row[1])
        for row in conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = any(%s)",
            [sorted({schema for schema, _ in relations})],
        )
    }
    return [f"{schema}.{name}" for schema, name in relations if (schema, name) not in present]


def _schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    row = conn.execute(
        "select exists (select from pg_namespace where nspname = %s)", [schema]
    ).fetchone()
    return bool(row and row[0])


def plan_build(dsn: str, settings: Settings, *, full_refresh: bool = False) -> BuildPlan:
    """Plan the run's build now: the arrival window ends at this moment (`arrival_point`).

    Args:
        dsn: warehouse connection string.
        settings: the run's settings (the arrival margin).
        full_refresh: rebuild everything even when an incremental build could start.

    Returns:
        The plan; `deletions_through` is left for the build step (`with_deletions`).
    """
    margin = timedelta(seconds=settings.pipeline_arrival_margin_s)
    with psycopg.connect(dsn, autocommit=True) as conn:
        arrived_through = arrival_point(conn)
        live, mark = live_watermark(conn)
        reason = ""
        if full_refresh:
            reason = "asked for (full_refresh)"
        elif live is None:
            reason = "no build has been promoted yet"
        elif mark is None:
            reason = f"the live build {live} has no watermark (not built by a pipeline run)"
        elif not _schema_exists(conn, live):
            reason = f"the live build {live} is gone"
        elif mark.dbt_fingerprint != dbt_fingerprint():
            reason = f"the dbt project changed since {live} was built"
        else:
            missing = _missing_relations(conn, stateful_relations())
            if missing:
                reason = f"shared tables are missing: {', '.join(missing[:3])}"
    # Rows before the live build's watermark were validated by the gates of earlier runs, also
    # when this build rebuilds from all of them.
    arrived_from = mark.arrived_through - margin if mark is not None else None
    if reason:
        plan = BuildPlan(FULL, reason, None, arrived_from, arrived_through)
    else:
        assert mark is not None
        plan = BuildPlan(
            INCREMENTAL,
            f"from {mark.build_schema}",
            mark.build_schema,
            arrived_from,
            arrived_through,
            deletions_from=mark.deletions_through,
        )
    logger.info("build plan: %s (%s)", plan.mode, plan.reason)
    return plan


def with_deletions(dsn: str, plan: BuildPlan) -> BuildPlan:
    """The plan with `deletions_through`: the last deletion the build will see (take it after
    the run's own erasures, so the build reopens what they changed)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select coalesce(max(deletion_id), 0) from raw.community_event_deletions"
        ).fetchone()
    return replace(plan, deletions_through=int(row[0]) if row else 0)


def recorded_plan(conn: psycopg.Connection, pipeline_run_id: int) -> BuildPlan | None:
    """The plan the run's raw gate made and recorded, if it did."""
    row = conn.execute(
        "select build_mode, build_mode_reason, base_build, arrived_from, arrived_through "
        "from quality.pipeline_runs where pipeline_run_id = %s",
        [pipeline_run_id],
    ).fetchone()
    if row is None or row[0] is None or row[4] is None:
        return None
    mode, reason, base, arrived_from, arrived_through = row
    deletions_from = None
    if mode == INCREMENTAL:
        mark = conn.execute(
            "select deletions_through from quality.build_watermarks where build_schema = %s",
            [base],
        ).fetchone()
        if mark is None:
            return None
        deletions_from = int(mark[0])
    return BuildPlan(mode, reason, base, arrived_from, arrived_through, deletions_from)


def record_build(dsn: str, *, build_schema: str, run_id: str, plan: BuildPlan) -> None:
    """The build's watermark, once `dbt build` succeeded (never before)."""
    assert plan.deletions_through is not None
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into quality.build_watermarks (build_schema, run_id, build_mode, base_build, "
            "arrived_through, arrived_from, deletions_through, dbt_fingerprint) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s) on conflict (build_schema) do update set "
            "run_id = excluded.run_id, build_mode = excluded.build_mode, "
            "base_build = excluded.base_build, arrived_through = excluded.arrived_through, "
            "arrived_from = excluded.arrived_from, "
            "deletions_through = excluded.deletions_through, "
            "dbt_fingerprint = excluded.dbt_fingerprint, built_at = now()",
            [
                build_schema,
                run_id,
                plan.mode,
                plan.base_build,
                plan.arrived_through,
                plan.arrived_from if plan.incremental else None,
                plan.deletions_through,
                dbt_fingerprint(),
            ],
        )
