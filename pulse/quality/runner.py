"""Running a gate: `run_raw_gate` for one run's raw rows, `run_marts_gate` for one build.

A gate run:
1. opens the project with the data sources' connection strings filled in memory. The connection
   is read-only and carries the run's interval and arrival window as session settings (raw) or
   the build schema as its only `search_path` (marts). The marts gate first writes, beside each
   mart, the table of its rows that its base build does not have (`<mart>__changed`), which the
   row rules read;
2. runs the checkpoint, then builds Data Docs for it (once) under `gx/uncommitted/data_docs/`,
   copied to `PULSE_DATA_DOCS_DIR` when that is set (a folder every worker shares, since the
   next run's gate may run on another machine);
3. adds the details the checkpoint's result leaves out (volume figures, offending rows);
4. stores one row per expectation in `quality.validation_results` (and one per run in
   `quality.validation_runs`), which the promote step reads to decide whether a build may go
   live.
"""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from pulse.errors import PulseError
from pulse.quality.checkpoint import run_checkpoint
from pulse.quality.config import GateSettings
from pulse.quality.connection import gate_session, sqlalchemy_url
from pulse.quality.details import explain_volume, sample_unexpected_rows
from pulse.quality.marts_suites import changed_table
from pulse.quality.project import MARTS_DSN_VARIABLE, RAW_DSN_VARIABLE
from pulse.quality.raw_suites import (
    GUC_ARRIVED_FROM,
    GUC_ARRIVED_THROUGH,
    GUC_FUTURE_AFTER,
    GUC_HISTORY_INTERVALS,
    GUC_INTERVAL_END,
    GUC_INTERVAL_START,
    PARAM_BAND_HIGH,
    PARAM_BAND_LOW,
    PARAM_DEAD_LETTER_MAX,
    PARAM_LATEST_OCCURRED_AT,
)
from pulse.quality.results import GateResult, describe_moment
from pulse.quality.rules import PARAM_MIN_GROUP_SIZE
from pulse.quality.schemas import check_schema_name, missing_marts
from pulse.quality.store import store_result
from pulse.timestamps import parse_moment
from pulse.warehouse.connect import connect
from pulse.warehouse.names import MARTS, TRANSFORM_ROLE

logger = logging.getLogger(__name__)


def run_raw_gate(
    dsn: str,
    *,
    run_id: str,
    interval_start: datetime,
    interval_end: datetime,
    gate_settings: GateSettings,
    now: datetime | None = None,
    arrived_from: datetime | None = None,
    arrived_through: datetime | None = None,
) -> GateResult:
    """Validate the raw rows of one run and store the results.

    Args:
        dsn: warehouse connection string (a role that reads raw and writes quality).
        run_id: the pipeline run this gate belongs to.
        interval_start: start of the data interval (inclusive, aware).
        interval_end: end of the data interval (exclusive, aware).
        gate_settings: thresholds and the project folder.
        now: the moment of validation (default: the clock); "future" is measured from it.
        arrived_from: with `arrived_through`, the run's arrival window: the rows with
            arrived_from <= ingested_at < arrived_through are validated too (what the run's dbt
            build reads); None with an `arrived_through`: every row that arrived before it.
        arrived_through: end of the arrival window; None: no arrival window (the interval only).

    Returns:
        The result; check `.success` (this function does not raise on a failed gate).

    Raises:
        PulseError: the interval is empty, or the project is missing.
    """
    settings = gate_settings
    start = parse_moment(interval_start, "interval_start")
    end = parse_moment(interval_end, "interval_end")
    if end <= start:
        raise PulseError(
            f"the data interval is empty: {describe_moment(start)} to {describe_moment(end)}"
        )
    latest_allowed = (now or datetime.now(UTC)) + timedelta(seconds=settings.future_tolerance_s)
    session = {
        GUC_INTERVAL_START: start.isoformat(),
        GUC_INTERVAL_END: end.isoformat(),
        GUC_FUTURE_AFTER: latest_allowed.isoformat(),
        GUC_HISTORY_INTERVALS: str(settings.volume_history_intervals),
        # No window: an empty range ('infinity' to 'infinity').
        GUC_ARRIVED_FROM: (
            "infinity"
            if arrived_through is None
            else (arrived_from.isoformat() if arrived_from is not None else "-infinity")
        ),
        GUC_ARRIVED_THROUGH: "infinity" if arrived_through is None else arrived_through.isoformat(),
    }
    result = run_checkpoint(
        settings.project_dir,
        layer="raw",
        run_id=run_id,
        environment={RAW_DSN_VARIABLE: sqlalchemy_url(dsn, gate_session(dsn, session))},
        parameters={
            PARAM_LATEST_OCCURRED_AT: latest_allowed,
            PARAM_BAND_LOW: settings.volume_band_low,
            PARAM_BAND_HIGH: settings.volume_band_high,
            PARAM_DEAD_LETTER_MAX: settings.dead_letter_max_share,
        },
        interval=(start, end),
    )
    explain_volume(dsn, session, result)
    share_data_docs(result, settings)
    store_result(dsn, result, settings.project_dir)
    return result


def run_marts_gate(
    dsn: str,
    *,
    run_id: str,
    build_schema: str,
    gate_settings: GateSettings,
    base_build: str | None = None,
) -> GateResult:
    """Validate the marts of one build schema and store the results.

    Whole-table rules (keys) read each mart; row rules read its rows that `base_build` does not
    have (`changed_rows`): a build that copied most rows from its base costs what it changed.

    Args:
        dsn: warehouse connection string (a role that reads the build and writes quality).
        run_id: the pipeline run this gate belongs to.
        build_schema: the schema dbt built the marts into (e.g. build_<run>).
        gate_settings: thresholds and the project folder.
        base_build: the validated build this one started from (None: every row is new).

    Returns:
        The result; check `.success` (this function does not raise on a failed gate).

    Raises:
        PulseError: the build schema's name is not one the pipeline makes, it lacks a mart, or
            the project is missing.
    """
    settings = gate_settings
    check_schema_name(build_schema)
    missing = missing_marts(dsn, build_schema)
    if missing:
        raise PulseError(f"build schema {build_schema} lacks marts: {', '.join(missing)}")
    changed = changed_rows(dsn, build_schema, base_build)
    result = run_checkpoint(
        settings.project_dir,
        layer="marts",
        run_id=run_id,
        environment={
            MARTS_DSN_VARIABLE: sqlalchemy_url(
                dsn, gate_session(dsn, {"search_path": build_schema})
            )
        },
        parameters={PARAM_MIN_GROUP_SIZE: settings.min_group_size},
        build_schema=build_schema,
    )
    sample_unexpected_rows(dsn, build_schema, result)
    result.notes.append(
        "rows validated (changed since "
        + (base_build or "nothing: a build without a base")
        + "): "
        + ", ".join(f"{mart} {count:,}" for mart, count in changed.items())
    )
    share_data_docs(result, settings)
    store_result(dsn, result, settings.project_dir)
    return result


def changed_rows(dsn: str, build_schema: str, base_build: str | None) -> dict[str, int]:
    """Write `<mart>__changed` in the build: the mart's rows that `base_build`'s lacks, row for
    row (every row without a base, or when the base's mart does not compare: another contract).

    Args:
        dsn: warehouse connection string (acts as pulse_transform, which owns the builds).
        build_schema: the build validated.
        base_build: the validated build it started from, or None.

    Returns:
        Rows written per mart.
    """
    check_schema_name(build_schema)
    if base_build is not None:
        check_schema_name(base_build)
    counts: dict[str, int] = {}
    with connect(dsn, role=TRANSFORM_ROLE, required=False) as conn:
        for mart in MARTS:
            target = sql.Identifier(build_schema, changed_table(mart))
            built = sql.Identifier(build_schema, mart)
            conn.execute(sql.SQL("drop table if exists {}").format(target))
            made = False
            if base_build is not None:
                try:
                    with conn.transaction():
                        conn.execute(
                            sql.SQL(
                                "create table {} as select * from {} except select * from {}"
                            ).format(target, built, sql.Identifier(base_build, mart))
                        )
                    made = True
                except psycopg.Error:  # no such base mart, or it does not compare: all rows
                    made = False
            if not made:
                conn.execute(sql.SQL("create table {} as table {}").format(target, built))
            row = conn.execute(sql.SQL("select count(*) from {}").format(target)).fetchone()
            counts[mart] = int(row[0]) if row else 0
    return counts


def default_interval(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Yesterday, UTC: the interval a daily run validates.

    Args:
        now: the moment "today" is taken from (default: the clock).

    Returns:
        (start, end): the previous UTC midnight-to-midnight day.
    """
    today = (
        (now or datetime.now(UTC))
        .astimezone(UTC)
        .replace(hour=0, minute=0, second=0, microsecond=0)
    )
    return today - timedelta(days=1), today


def share_data_docs(result: GateResult, settings: GateSettings) -> None:
    """Copy the run's Data Docs site to the shared folder and point the result's links there.

    The site is merged into what the folder holds (other runs' pages stay); a copy that fails
    is logged, never a gate failure: Data Docs are for people, the verdict is in the warehouse.
    """
    target = settings.data_docs_dir
    index = result.data_docs_index
    if target is None or index is None:
        return
    site = index.parent
    try:
        shutil.copytree(site, target, dirs_exist_ok=True)
    except OSError as error:
        logger.warning("could not copy Data Docs to %s: %s", target, error)
        return

    def moved(path: Path | None) -> Path | None:
        return None if path is None else Path(target) / path.relative_to(site)

    result.data_docs_index = moved(index)
    result.data_docs_page = moved(result.data_docs_page)
