"""Blue/green publishing: BI reads `marts`, a schema of views onto the last validated build.

Each pipeline run builds its marts into its own schema (`build_<run>`, dbt var `marts_schema`),
the marts gate validates that schema, and only then does `promote` point the views of `marts` at
it, all in one transaction. Until that COMMIT, BI keeps reading the previous build; a failing gate
never reaches `promote`, and `promote` itself refuses a build whose last marts gate did not pass,
so `marts` stays exactly as it was.

The views belong to pulse_owner (the one role that may change marts), so `pulse_bi` needs SELECT
on the views only: it never gets access to build schemas, raw, or quality. Each view filters its
rows by brand for the per-brand roles (pulse.publishing.mart_views).
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from pulse.errors import PulseError
from pulse.publishing.mart_views import replace_mart_view
from pulse.quality.schemas import check_schema_name
from pulse.warehouse.connect import connect
from pulse.warehouse.locks import lock_in_transaction
from pulse.warehouse.names import (
    BUILD_PREFIX,
    MARTS,
    MARTS_SCHEMA,
    OWNER_ROLE,
    PROMOTE_LOCK,
)

logger = logging.getLogger(__name__)


class PromoteRefused(PulseError):
    """The build may not go live (no passing marts gate, or marts missing)."""


@dataclass(frozen=True)
class Promotion:
    """What one promote did."""

    run_id: str
    build_schema: str
    previous_build_schema: str | None
    validation_run_id: uuid.UUID
    views: list[str]
    retired_builds: list[str] = field(default_factory=list)


def build_schema_name(run_id: str) -> str:
    """The build schema of a pipeline run: readable, valid unquoted, unique per run id.

    `scheduled__2026-01-02T00:00:00+00:00` -> `build_scheduled_2026_01_02t00_00_00_00_00_3f1c2a`.
    """
    slug = re.sub(r"[^a-z0-9]+", "_", run_id.lower()).strip("_")
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:6]
    return f"{BUILD_PREFIX}{slug[:48]}_{digest}" if slug else f"{BUILD_PREFIX}{digest}"


def live_build(dsn: str) -> str | None:
    """The build schema `marts` currently shows (the last promotion), if any."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select build_schema from quality.promotions order by promoted_at desc, "
            "promotion_id desc limit 1"
        ).fetchone()
    return row[0] if row else None


def promote(dsn: str, *, run_id: str, build_schema: str, keep_builds: int = 2) -> Promotion:
    """Point every view of `marts` at `build_schema`, in one transaction, then retire old builds.

    Args:
        dsn: warehouse connection string (pulse_transform, or a role that may act as it).
        run_id: the pipeline run promoting (recorded in quality.promotions).
        build_schema: the validated build schema.
        keep_builds: promoted builds to keep (the new live one included); older build schemas
            are dropped after the switch.

    Returns:
        What was promoted and retired.

    Raises:
        PromoteRefused: the build's last marts gate did not pass (or it never ran), or the build
            lacks a mart; `marts` is left exactly as it was.
    """
    check_schema_name(build_schema)
    # Least privilege: only pulse_owner may change what marts exposes; a superuser DSN (the
    # embedded stack) still acts as it. It reads the builds as a member of pulse_transform.
    with connect(dsn, role=OWNER_ROLE, required=False) as conn:
        # One transaction: the switch is all or nothing. Two promotes at once would interleave
        # their view swaps; the second waits.
        lock_in_transaction(conn, PROMOTE_LOCK)
        gate = conn.execute(
            "select validation_run_id, success from quality.validation_runs "
            "where layer = 'marts' and build_schema = %s "
            "order by finished_at desc limit 1",
            [build_schema],
        ).fetchone()
        if gate is None:
            raise PromoteRefused(
                f"build {build_schema} has not been through the marts gate; marts is unchanged"
            )
        validation_run_id, passed = gate
        if not passed:
            raise PromoteRefused(
                f"the last marts gate of build {build_schema} failed (validation_run_id "
                f"{validation_run_id}); marts is unchanged"
            )
        present = {
            row[0]
            for row in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                [build_schema],
            )
        }
        missing = [mart for mart in MARTS if mart not in present]
        if missing:
            raise PromoteRefused(f"build {build_schema} lacks marts: {', '.join(missing)}")
        previous = conn.execute(
            "select build_schema from quality.promotions "
            "order by promoted_at desc, promotion_id desc limit 1"
        ).fetchone()
        for mart in MARTS:
            replace_mart_view(
                conn,
                mart,
                build_schema,
                comment=f"{mart} of build {build_schema} (run {run_id}), validated",
            )
        conn.execute(
            "insert into quality.promotions (run_id, build_schema, previous_build_schema, "
            "validation_run_id, views) values (%s, %s, %s, %s, %s)",
            [
                run_id,
                build_schema,
                previous[0] if previous else None,
                validation_run_id,
                [f"{MARTS_SCHEMA}.{mart}" for mart in MARTS],
            ],
        )
    logger.info("marts now shows build %s (run %s)", build_schema, run_id)
    retired = retire_builds(dsn, keep_builds=keep_builds)
    return Promotion(
        run_id=run_id,
        build_schema=build_schema,
        previous_build_schema=previous[0] if previous else None,
        validation_run_id=validation_run_id,
        views=[f"{MARTS_SCHEMA}.{mart}" for mart in MARTS],
        retired_builds=retired,
    )


def retire_builds(dsn: str, *, keep_builds: int = 2) -> list[str]:
    """Drop build schemas nobody needs any more; return their names.

    Kept: the `keep_builds` most recently promoted builds (the live one and its predecessors, to
    roll back to), every schema a `marts` view reads, and every build with no record of a
    finished marts gate (it may still be building or validating). Dropped: other `build_*`
    schemas that were promoted once, or whose last marts gate failed before the latest promotion.
    """
    dropped: list[str] = []
    with connect(dsn, role=OWNER_ROLE, required=False) as conn:
        keep = {
            row[0]
            for row in conn.execute(
                "select build_schema from quality.promotions group by build_schema "
                "order by max(promoted_at) desc limit %s",
                [keep_builds],
            )
        }
        referenced = {
            row[0]
            for row in conn.execute(
                "select distinct source_ns.nspname "
                "from pg_depend as dep "
                "join pg_rewrite as rw on dep.objid = rw.oid "
                "join pg_class as vw on rw.ev_class = vw.oid "
                "join pg_namespace as view_ns on vw.relnamespace = view_ns.oid "
                "join pg_class as source on dep.refobjid = source.oid "
                "join pg_namespace as source_ns on source.relnamespace = source_ns.oid "
                "where dep.classid = 'pg_rewrite'::regclass "
                "and dep.refclassid = 'pg_class'::regclass and view_ns.nspname = %s",
                [MARTS_SCHEMA],
            )
        }
        candidates = [
            row[0]
            for row in conn.execute(
                "select nspname from pg_namespace where nspname like %s order by nspname",
                [BUILD_PREFIX.replace("_", r"\_") + "%"],
            )
        ]
        promoted_once = {
            row[0] for row in conn.execute("select distinct build_schema from quality.promotions")
        }
        failed_before_latest = {
            row[0]
            for row in conn.execute(
                "select runs.build_schema from quality.validation_runs as runs "
                "where runs.layer = 'marts' and runs.finished_at = ("
                "  select max(latest.finished_at) from quality.validation_runs as latest "
                "  where latest.layer = 'marts' and latest.build_schema = runs.build_schema) "
                "and not runs.success "
                "and runs.finished_at < (select max(promoted_at) from quality.promotions)"
            )
        }
        conn.commit()
        for schema in candidates:
            if schema in keep or schema in referenced:
                continue
            if schema not in promoted_once and schema not in failed_before_latest:
                continue
            try:
                with conn.transaction():
                    conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))
                dropped.append(schema)
            except psycopg.Error as error:  # retiring is housekeeping: never fail a run on it
                logger.warning("could not drop old build %s: %s", schema, error)
    if dropped:
        logger.info("retired builds: %s", ", ".join(dropped))
    return dropped
