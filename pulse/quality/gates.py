"""Quality gates: the Great Expectations project kept as code, and the runner of its checkpoints.

`expectations/gx/` is a Great Expectations 1.x file data context (great_expectations.yml with two
Postgres data sources, one suite per data asset under expectations/, validation definitions,
checkpoints `raw_gate` and `marts_gate`). Nobody edits its JSON by hand: `python -m pulse.quality
build` regenerates it from `pulse.quality.suites`, deterministically (ids are derived from names),
and `python -m pulse.quality check` (a test runs it) fails when the committed files drift.

A gate run (`run_raw_gate`, `run_marts_gate`):
1. opens the project with the data sources' connection strings filled in memory (`${PULSE_GX_*}`
   substitution through `runtime_environment`; never written to disk). The connection is
   read-only and carries the run's interval as session settings (raw) or the build schema as its
   only `search_path` (marts);
2. runs the checkpoint, then builds Data Docs for it (once) under `gx/uncommitted/data_docs/`;
3. stores one row per expectation in `quality.validation_results` (and one per run in
   `quality.validation_runs`), which the promote step reads to decide whether a build may go
   live.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from pulse.errors import PulseError
from pulse.paths import EXPECTATIONS_DIR
from pulse.quality import suites as quality
from pulse.settings import Settings
from pulse.timestamps import parse_moment
from pulse.warehouse.connect import connect
from pulse.warehouse.names import MARTS, TRANSFORM_ROLE

logger = logging.getLogger(__name__)

GX_DIR = "gx"
RAW_DSN_VARIABLE = "PULSE_GX_RAW_DSN"
MARTS_DSN_VARIABLE = "PULSE_GX_MARTS_DSN"

# Schema names the gates and the promote step accept (also what `build_schema_name` makes).
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://community-pulse/expectations")

Layer = Literal["raw", "marts"]


class GateFailed(PulseError):
    """A gate found data that must not reach BI; `result` says what."""

    def __init__(self, result: GateResult) -> None:
        super().__init__(result.headline())
        self.result = result


@dataclass(frozen=True)
class GateSettings:
    """The gates' knobs; their defaults and environment variables are `Settings`'.

    Attributes:
        project_dir: Folder holding the Great Expectations project (`gx/` inside).
        volume_history_intervals: Previous intervals of the same length the volume is compared
            with.
        volume_band_low: Lowest allowed interval count / trailing average (a drop below fails).
        volume_band_high: Highest allowed interval count / trailing average (a surge fails).
        dead_letter_max_share: Highest allowed share of dead letters among what arrived.
        future_tolerance_s: How far after the moment of validation occurred_at may be.
        min_group_size: Community-periods below this many members show no member figures.
        keep_builds: Promoted build schemas kept (the live one and the ones before it).
    """

    project_dir: Path
    volume_history_intervals: int
    volume_band_low: float
    volume_band_high: float
    dead_letter_max_share: float
    future_tolerance_s: int
    min_group_size: int
    keep_builds: int

    def __post_init__(self) -> None:
        if self.volume_history_intervals < 1:
            raise ValueError("volume_history_intervals must be at least 1")
        if not 0 <= self.volume_band_low < self.volume_band_high:
            raise ValueError("the volume band needs 0 <= low < high")
        if not 0 <= self.dead_letter_max_share <= 1:
            raise ValueError("dead_letter_max_share must be within [0, 1]")
        if self.keep_builds < 1:
            raise ValueError("keep_builds must be at least 1 (the live build)")

    @classmethod
    def from_settings(cls, settings: Settings) -> GateSettings:
        """The gate knobs the settings (PULSE_GATE_*, ...) say."""
        return cls(
            project_dir=Path(settings.gx_project_dir),
            volume_history_intervals=settings.gate_volume_history_intervals,
            volume_band_low=settings.gate_volume_band_low,
            volume_band_high=settings.gate_volume_band_high,
            dead_letter_max_share=settings.gate_dead_letter_max_share,
            future_tolerance_s=settings.future_tolerance_s,
            min_group_size=settings.min_group_size,
            keep_builds=settings.keep_builds,
        )


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One expectation's result, as stored in quality.validation_results."""

    suite: str
    data_asset: str
    expectation: str
    column: str | None
    rule: str | None
    kwargs: dict[str, Any]
    success: bool
    observed_value: Any
    unexpected_count: int | None
    element_count: int | None
    exception_message: str | None

    def describe_observed(self) -> str:
        """The observed value in a few words, for the one-screen summary."""
        if self.exception_message:
            return f"error: {self.exception_message.splitlines()[0][:160]}"
        observed = self.observed_value
        if isinstance(observed, dict) and "unexpected_count" in observed:
            examples = observed.get("partial_unexpected_list") or []
            pair = (self.kwargs.get("column_A"), self.kwargs.get("column_B"))
            if all(pair):
                # Pair checks list [A, B] values; name them.
                examples = [
                    f"{pair[0]}={example[0]} {pair[1]}={example[1]}"
                    for example in examples
                    if isinstance(example, list) and len(example) == 2
                ]
            shown = ", ".join(_short(value) for value in examples[:3])
            total = observed.get("element_count")
            of = f" of {total:,}" if isinstance(total, int) else ""
            return f"{observed['unexpected_count']:,}{of} rows unexpected" + (
                f", e.g. {shown}" if shown else ""
            )
        if isinstance(observed, dict) and "volume_ratio" in observed:
            return (
                f"ratio {observed['volume_ratio']}: {observed['interval_events']:,} events vs "
                f"trailing average {observed['trailing_avg_events']} over "
                f"{observed['history_intervals']} intervals"
            )
        if isinstance(observed, dict) and "dead_letter_share" in observed:
            return (
                f"share {observed['dead_letter_share']}: {observed['dead_letters_arrived']:,} "
                f"dead letters, {observed['events_arrived']:,} events arrived"
            )
        if isinstance(observed, dict) and "unexpected_rows" in observed:
            rows = observed["unexpected_rows"]
            first = rows[0] if rows else None
            if isinstance(first, dict):
                first = " ".join(
                    ",".join(map(str, v)) if isinstance(v, list) else str(v) for v in first.values()
                )
            example = f", e.g. {_short(first, 100)}" if first is not None else ""
            return f"{observed.get('row_count') or len(rows):,} rows{example}"
        return _short(observed)


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class GateResult:
    """What one gate run found."""

    validation_run_id: uuid.UUID
    run_id: str
    layer: Layer
    checkpoint: str
    success: bool
    outcomes: list[Outcome]
    started_at: datetime
    finished_at: datetime
    data_docs_index: Path | None
    data_docs_page: Path | None = None
    build_schema: str | None = None
    interval_start: datetime | None = None
    interval_end: datetime | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def scope(self) -> str:
        if self.layer == "marts":
            return f"build {self.build_schema}"
        assert self.interval_start is not None and self.interval_end is not None
        return f"interval {_when(self.interval_start)} to {_when(self.interval_end)}"

    def headline(self) -> str:
        verdict = "passed" if self.success else "FAILED"
        failed = (
            f"{len(self.failed)} of {len(self.outcomes)} expectations failed"
            if self.failed
            else f"{len(self.outcomes)} expectations met"
        )
        return f"{self.layer} gate {verdict}: {failed} ({self.scope()}, run {self.run_id})"

    def summary_lines(self, max_failures: int = 12) -> list[str]:
        """A one-screen summary: what failed, where the details are."""
        lines = [self.headline()]
        for outcome in self.failed[:max_failures]:
            lines.append(
                f"  x {outcome.suite}: {outcome.rule or outcome.expectation} -> "
                f"{outcome.describe_observed()}"
            )
        if len(self.failed) > max_failures:
            lines.append(f"  ... and {len(self.failed) - max_failures} more")
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.append(
            "  results: quality.validation_results where validation_run_id = "
            f"'{self.validation_run_id}'"
        )
        if self.data_docs_page is not None:
            lines.append(f"  Data Docs: {self.data_docs_page}")
        if self.data_docs_index is not None:
            lines.append(f"  Data Docs index: {self.data_docs_index}")
        return lines


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- the Great Expectations project -------------------------------------------------------------


def _gx() -> Any:
    # Great Expectations reads this when it is imported; the project file says the same.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    # It logs every config substitution and metric at INFO; keep that out of the pipeline's log
    # unless someone set its level on purpose.
    gx_logger = logging.getLogger("great_expectations")
    if gx_logger.level == logging.NOTSET:
        gx_logger.setLevel(logging.WARNING)
    import great_expectations

    return great_expectations


def _stable_id(key: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, key))


def render_project() -> dict[str, str]:
    """Build the Great Expectations project in a scratch folder and return its files.

    Returns:
        Path relative to the project folder (e.g. `gx/checkpoints/raw_gate.json`) -> content.
        Random ids Great Expectations assigns are replaced by ids derived from object names, so
        the same suites always give the same bytes.
    """
    gx = _gx()
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.datasource.fluent import PostgresDatasource
    from great_expectations.datasource.fluent.sql_datasource import QueryAsset, TableAsset

    suites = quality.all_suites()
    with tempfile.TemporaryDirectory() as scratch:
        context = gx.get_context(mode="file", project_root_dir=scratch)
        context.variables.data_context_id = uuid.UUID(_stable_id("data_context"))
        context.variables.analytics_enabled = False
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        context.variables.save()

        for datasource_name, variable in (
            (quality.RAW_DATASOURCE, RAW_DSN_VARIABLE),
            (quality.MARTS_DATASOURCE, MARTS_DSN_VARIABLE),
        ):
            assets = [
                QueryAsset(
                    name=spec.asset,
                    query=spec.query,
                    batch_definitions=[BatchDefinition(name=quality.BATCH_DEFINITION)],
                )
                if spec.query is not None
                else TableAsset(
                    name=spec.asset,
                    table_name=spec.asset,
                    batch_definitions=[BatchDefinition(name=quality.BATCH_DEFINITION)],
                )
                for spec in suites
                if spec.datasource == datasource_name
            ]
            datasource = PostgresDatasource(
                name=datasource_name, connection_string="${" + variable + "}", assets=assets
            )
            # add_postgres() would connect to test the source; the connection string exists
            # only at run time, so the (already validated) model is stored as it is.
            context._add_fluent_datasource(datasource)

        definitions: dict[str, list[Any]] = {"raw": [], "marts": []}
        for spec in suites:
            suite = context.suites.add(
                gx.ExpectationSuite(name=spec.name, expectations=spec.expectations())
            )
            batch_definition = (
                context.data_sources.get(spec.datasource)
                .get_asset(spec.asset)
                .get_batch_definition(quality.BATCH_DEFINITION)
            )
            definitions[spec.layer].append(
                context.validation_definitions.add(
                    gx.ValidationDefinition(name=spec.name, data=batch_definition, suite=suite)
                )
            )
        for name, layer in ((quality.RAW_CHECKPOINT, "raw"), (quality.MARTS_CHECKPOINT, "marts")):
            context.checkpoints.add(
                gx.Checkpoint(
                    name=name,
                    validation_definitions=definitions[layer],
                    # No UpdateDataDocsAction: it rebuilds the site once per validation
                    # definition (7 times for the marts); the runner builds it once per run.
                    actions=[],
                    result_format={"result_format": "SUMMARY", "partial_unexpected_count": 10},
                )
            )

        ids = _id_map(context)
        root = Path(scratch)
        files: dict[str, str] = {}
        for path in sorted(root.joinpath(GX_DIR).rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.is_dir() or relative.startswith(f"{GX_DIR}/uncommitted/"):
                continue
            text = path.read_text()
            if path.name == ".ge_store_backend_id":
                for found in _UUID.findall(text):
                    ids.setdefault(found, _stable_id(f"store_backend:{relative}"))
            files[relative] = _UUID.sub(lambda match: _replace_id(match.group(0), ids), text)
    return files


def _id_map(context: Any) -> dict[str, str]:
    """Every id Great Expectations assigned -> an id derived from the object's name."""
    ids: dict[str, str] = {}
    for datasource in context.data_sources.all().values():
        ids[str(datasource.id)] = _stable_id(f"datasource:{datasource.name}")
        for asset in datasource.assets:
            ids[str(asset.id)] = _stable_id(f"asset:{datasource.name}:{asset.name}")
            for definition in asset.batch_definitions:
                key = f"batch_definition:{datasource.name}:{asset.name}:{definition.name}"
                ids[str(definition.id)] = _stable_id(key)
    for suite in context.suites.all():
        ids[str(suite.id)] = _stable_id(f"suite:{suite.name}")
        for position, expectation in enumerate(suite.expectations):
            key = f"expectation:{suite.name}:{position}:{expectation.expectation_type}"
            ids[str(expectation.id)] = _stable_id(key)
    for definition in context.validation_definitions.all():
        ids[str(definition.id)] = _stable_id(f"validation_definition:{definition.name}")
    for checkpoint in context.checkpoints.all():
        ids[str(checkpoint.id)] = _stable_id(f"checkpoint:{checkpoint.name}")
    data_context_id = str(context.variables.data_context_id)
    ids[data_context_id] = data_context_id
    return ids


def _replace_id(found: str, ids: Mapping[str, str]) -> str:
    if found not in ids:
        raise RuntimeError(f"the project holds an id the builder does not know: {found}")
    return ids[found]


def write_project(project_dir: Path = EXPECTATIONS_DIR) -> list[str]:
    """(Re)write the committed project; files under gx/uncommitted/ are left alone.

    Returns:
        The files written or deleted, relative to `project_dir`.
    """
    expected = render_project()
    changed = _stale(project_dir, expected)
    for relative in changed:
        path = project_dir / relative
        if relative in expected:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected[relative])
        else:
            path.unlink()
    return changed


def stale_files(project_dir: Path = EXPECTATIONS_DIR) -> list[str]:
    """Files of the committed project that differ from what the builder writes (or should not
    be there)."""
    return _stale(project_dir, render_project())


def _stale(project_dir: Path, expected: dict[str, str]) -> list[str]:
    present = {
        path.relative_to(project_dir).as_posix()
        for path in project_dir.joinpath(GX_DIR).rglob("*")
        if path.is_file()
    }
    present = {p for p in present if not p.startswith(f"{GX_DIR}/uncommitted/")}
    stale = [
        relative
        for relative, text in expected.items()
        if relative not in present or (project_dir / relative).read_text() != text
    ]
    return sorted(stale + sorted(present - set(expected)))


def copy_project(target: Path, source: Path = EXPECTATIONS_DIR) -> Path:
    """Copy the committed project (without uncommitted/) to `target`, e.g. a task's own folder."""
    shutil.copytree(source / GX_DIR, target / GX_DIR, ignore=shutil.ignore_patterns("uncommitted"))
    return target


# -- connections --------------------------------------------------------------------------------


def sqlalchemy_url(dsn: str, settings: Mapping[str, str]) -> str:
    """A SQLAlchemy URL (psycopg2 driver) for `dsn`, with session `settings` at connect time.

    Args:
        dsn: libpq connection string or URI.
        settings: server settings (`-c name=value`) every connection of the engine starts with.
    """
    from sqlalchemy.engine import URL

    params = {key: str(value) for key, value in conninfo_to_dict(dsn).items() if value is not None}
    options = " ".join(f"-c {name}={_escape_option(value)}" for name, value in settings.items())
    params["options"] = f"{params['options']} {options}" if params.get("options") else options
    host = params.pop("host", None)
    port = params.pop("port", None)
    query = dict(params)
    user, password = query.pop("user", None), query.pop("password", None)
    database = query.pop("dbname", None)
    # Socket folders and multi-host lists do not fit a URL's host part; libpq reads them as
    # query parameters just the same.
    if host and ("/" in host or "," in host):
        query["host"] = host
        if port:
            query["port"] = port
        host = port = None
    url = URL.create(
        "postgresql+psycopg2",
        username=user,
        password=password,
        host=host,
        port=int(port) if port else None,
        database=database,
        query=query,
    )
    return url.render_as_string(hide_password=False)


def _escape_option(value: str) -> str:
    # libpq splits `options` on spaces; a backslash keeps one inside a value.
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


@contextmanager
def _context(project_dir: Path, environment: Mapping[str, str]) -> Iterator[Any]:
    gx = _gx()
    if not project_dir.joinpath(GX_DIR, "great_expectations.yml").exists():
        raise PulseError(
            f"no Great Expectations project in {project_dir}: run `python -m pulse.quality build`"
        )
    context = gx.get_context(
        mode="file", project_root_dir=str(project_dir), runtime_environment=dict(environment)
    )
    try:
        yield context
    finally:
        for datasource in context.data_sources.all().values():
            engine = getattr(datasource, "_engine", None)
            if engine is not None:
                engine.dispose()


# -- running a gate -----------------------------------------------------------------------------


def run_raw_gate(
    dsn: str,
    *,
    run_id: str,
    interval_start: datetime,
    interval_end: datetime,
    gate_settings: GateSettings,
    now: datetime | None = None,
) -> GateResult:
    """Validate the raw layer for one data interval and store the results.

    Args:
        dsn: warehouse connection string (a role that reads raw and writes quality).
        run_id: the pipeline run this gate belongs to.
        interval_start: start of the data interval (inclusive, aware).
        interval_end: end of the data interval (exclusive, aware).
        gate_settings: thresholds and the project folder.
        now: the moment of validation (default: the clock); "future" is measured from it.

    Returns:
        The result; check `.success` (this function does not raise on a failed gate).
    """
    settings = gate_settings
    start = parse_moment(interval_start, "interval_start")
    end = parse_moment(interval_end, "interval_end")
    if end <= start:
        raise PulseError(f"the data interval is empty: {_when(start)} to {_when(end)}")
    latest_allowed = (now or datetime.now(UTC)) + timedelta(seconds=settings.future_tolerance_s)
    session = {
        quality.GUC_INTERVAL_START: start.isoformat(),
        quality.GUC_INTERVAL_END: end.isoformat(),
        quality.GUC_FUTURE_AFTER: latest_allowed.isoformat(),
        quality.GUC_HISTORY_INTERVALS: str(settings.volume_history_intervals),
    }
    result = _run_checkpoint(
        dsn,
        layer="raw",
        run_id=run_id,
        environment={RAW_DSN_VARIABLE: sqlalchemy_url(dsn, _gate_session(dsn, session))},
        parameters={
            quality.PARAM_LATEST_OCCURRED_AT: latest_allowed,
            quality.PARAM_BAND_LOW: settings.volume_band_low,
            quality.PARAM_BAND_HIGH: settings.volume_band_high,
            quality.PARAM_DEAD_LETTER_MAX: settings.dead_letter_max_share,
        },
        settings=settings,
        interval=(start, end),
    )
    _explain_volume(dsn, session, result)
    _store(dsn, result, settings.project_dir)
    return result


def run_marts_gate(
    dsn: str,
    *,
    run_id: str,
    build_schema: str,
    gate_settings: GateSettings,
) -> GateResult:
    """Validate the marts of one build schema and store the results.

    Args:
        dsn: warehouse connection string (a role that reads the build and writes quality).
        run_id: the pipeline run this gate belongs to.
        build_schema: the schema dbt built the marts into (e.g. build_<run>).
        gate_settings: thresholds and the project folder.

    Returns:
        The result; check `.success` (this function does not raise on a failed gate).
    """
    settings = gate_settings
    check_schema_name(build_schema)
    missing = missing_marts(dsn, build_schema)
    if missing:
        raise PulseError(f"build schema {build_schema} lacks marts: {', '.join(missing)}")
    result = _run_checkpoint(
        dsn,
        layer="marts",
        run_id=run_id,
        environment={
            MARTS_DSN_VARIABLE: sqlalchemy_url(
                dsn, _gate_session(dsn, {"search_path": build_schema})
            )
        },
        parameters={quality.PARAM_MIN_GROUP_SIZE: settings.min_group_size},
        settings=settings,
        build_schema=build_schema,
    )
    _sample_unexpected_rows(dsn, build_schema, result)
    _store(dsn, result, settings.project_dir)
    return result


def _sample_unexpected_rows(
    dsn: str, build_schema: str, result: GateResult, limit: int = 5
) -> None:
    """A few offending rows of each failed SQL-bodied expectation (the checkpoint's SUMMARY
    format keeps only their count)."""
    failed = [
        (position, outcome)
        for position, outcome in enumerate(result.outcomes)
        if not outcome.success
        and outcome.expectation == "unexpected_rows_expectation"
        and isinstance(outcome.kwargs.get("unexpected_rows_query"), str)
    ]
    if not failed:
        return
    with psycopg.connect(dsn) as conn:
        conn.execute("set transaction read only")
        conn.execute("select set_config('search_path', %s, true)", [build_schema])
        for position, outcome in failed:
            query = outcome.kwargs["unexpected_rows_query"].replace(
                "{batch}", sql.Identifier(outcome.data_asset).as_string(conn)
            )
            try:
                with conn.transaction():
                    cursor = conn.execute(
                        sql.SQL("select * from ({}) as unexpected limit {}").format(
                            sql.SQL(query),
                            sql.Literal(limit),  # type: ignore[arg-type]
                        )
                    )
                    names = [column.name for column in cursor.description or []]
                    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            except psycopg.Error:
                logger.debug("could not sample %s", outcome.rule, exc_info=True)
                continue
            observed = dict(outcome.observed_value or {})
            observed["unexpected_rows"] = _jsonable(rows)
            result.outcomes[position] = _replace(outcome, observed_value=observed)


def check_schema_name(name: str) -> str:
    if not SCHEMA_NAME.match(name):
        raise PulseError(f"not a schema name the pipeline makes: {name!r} (expected [a-z0-9_])")
    return name


def missing_marts(dsn: str, schema: str) -> list[str]:
    """The marts (`pulse.warehouse.names.MARTS`) that `schema` has no table or view for."""
    with psycopg.connect(dsn) as conn:
        present = {
            row[0]
            for row in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                [schema],
            )
        }
    return [mart for mart in MARTS if mart not in present]


def _gate_session(dsn: str, session: dict[str, str]) -> dict[str, str]:
    """Settings every Great Expectations connection starts with: read-only, and acting as
    pulse_transform when the DSN's role may (so a gate sees what the transform sees)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select pg_has_role(current_user, %s, 'MEMBER')", [TRANSFORM_ROLE]
        ).fetchone()
    role = {"role": TRANSFORM_ROLE} if row and row[0] else {}
    # The gate only reads; a read-only session makes that a fact rather than a promise.
    return {**session, **role, "default_transaction_read_only": "on"}


def _run_checkpoint(
    dsn: str,
    *,
    layer: Layer,
    run_id: str,
    environment: Mapping[str, str],
    parameters: dict[str, Any],
    settings: GateSettings,
    build_schema: str | None = None,
    interval: tuple[datetime, datetime] | None = None,
) -> GateResult:
    _gx()
    from great_expectations.core.run_identifier import RunIdentifier

    checkpoint_name = quality.RAW_CHECKPOINT if layer == "raw" else quality.MARTS_CHECKPOINT
    specs = {spec.name: spec for spec in quality.all_suites()}
    started = datetime.now(UTC)
    clock = time.perf_counter()
    with _context(settings.project_dir, environment) as context:
        checkpoint = context.checkpoints.get(checkpoint_name)
        checkpoint_result = checkpoint.run(
            expectation_parameters=parameters,
            run_id=RunIdentifier(run_name=run_id, run_time=started),
        )
        identifiers = list(checkpoint_result.run_results)
        try:
            context.build_data_docs(resource_identifiers=identifiers)
        except Exception:  # Data Docs are for people: a rendering problem never fails a gate
            logger.warning("could not build Data Docs", exc_info=True)
        outcomes: list[Outcome] = []
        first_failed_page: Path | None = None
        for identifier, validation in checkpoint_result.run_results.items():
            spec = specs.get(validation.suite_name)
            asset = spec.asset if spec else "?"
            for item in validation.results:
                outcomes.append(_outcome(validation.suite_name, asset, item))
            if not validation.success and first_failed_page is None:
                first_failed_page = _docs_path(context, identifier)
        index = _docs_path(context, None)
    finished = datetime.now(UTC)
    logger.info(
        "%s gate: %d expectations in %.1f s",
        layer,
        len(outcomes),
        time.perf_counter() - clock,
    )
    return GateResult(
        validation_run_id=uuid.uuid4(),
        run_id=run_id,
        layer=layer,
        checkpoint=checkpoint_name,
        success=bool(checkpoint_result.success) and all(o.success for o in outcomes),
        outcomes=outcomes,
        started_at=started,
        finished_at=finished,
        data_docs_index=index,
        data_docs_page=first_failed_page,
        build_schema=build_schema,
        interval_start=interval[0] if interval else None,
        interval_end=interval[1] if interval else None,
    )


def _docs_path(context: Any, identifier: Any) -> Path | None:
    try:
        sites = context.get_docs_sites_urls(resource_identifier=identifier)
    except Exception:  # Data Docs are a convenience: never let them fail a gate
        logger.debug("no Data Docs URL", exc_info=True)
        return None
    for site in sites:
        url = site.get("site_url") or ""
        if url.startswith("file://"):
            return Path(unquote(url.removeprefix("file://")))
    return None


def _outcome(suite: str, asset: str, item: Any) -> Outcome:
    config = item.expectation_config
    kwargs = {key: value for key, value in config.kwargs.items() if key != "batch_id"}
    result = dict(item.result or {})
    exception = None
    info = item.exception_info or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        exception = str(info.get("exception_message") or "exception")
    elif isinstance(info, dict):
        for nested in info.values():
            if isinstance(nested, dict) and nested.get("raised_exception"):
                exception = str(nested.get("exception_message") or "exception")
                break
    if "observed_value" in result and config.type != "unexpected_rows_expectation":
        observed: Any = result["observed_value"]
    elif config.type == "unexpected_rows_expectation":
        details = result.get("details") or {}
        observed = {
            "row_count": result.get("observed_value"),
            "unexpected_rows": _jsonable(details.get("unexpected_rows") or [])[:10],
        }
    elif "unexpected_count" in result:
        observed = {
            "element_count": result.get("element_count"),
            "unexpected_count": result.get("unexpected_count"),
            "unexpected_percent": result.get("unexpected_percent"),
            "partial_unexpected_list": result.get("partial_unexpected_list") or [],
        }
    else:
        observed = None
    column = (
        kwargs.get("column")
        or kwargs.get("column_list")
        or ([kwargs["column_A"], kwargs["column_B"]] if "column_A" in kwargs else None)
    )
    if isinstance(column, list):
        column = ",".join(column)
    return Outcome(
        suite=suite,
        data_asset=asset,
        expectation=config.type,
        column=column,
        rule=config.notes if isinstance(config.notes, str) else None,
        kwargs=_jsonable(kwargs),
        success=bool(item.success),
        observed_value=_jsonable(observed),
        unexpected_count=_int_or_none(result.get("unexpected_count")),
        element_count=_int_or_none(result.get("element_count")),
        exception_message=exception,
    )


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _jsonable(value: Any) -> Any:
    """Plain JSON types: datetimes as ISO text, decimals as floats, objects via their dict."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    to_dict = getattr(value, "to_json_dict", None) or getattr(value, "dict", None)
    if callable(to_dict):
        return _jsonable(to_dict())
    return str(value)


def _explain_volume(dsn: str, session: Mapping[str, str], result: GateResult) -> None:
    """Put the interval's volume figures into the raw_volume outcomes, and say when the band
    was not checked for lack of history."""
    with psycopg.connect(dsn) as conn:
        for name, value in session.items():
            conn.execute("select set_config(%s, %s, true)", [name, value])
        cursor = conn.execute(quality.RAW_VOLUME_QUERY)
        names = [column.name for column in cursor.description or []]
        row = dict(zip(names, cursor.fetchone() or (), strict=False))
    volume = {
        key: _jsonable(row.get(key))
        for key in ("volume_ratio", "interval_events", "trailing_avg_events", "history_intervals")
    }
    dead = {
        key: _jsonable(row.get(key))
        for key in ("dead_letter_share", "dead_letters_arrived", "events_arrived")
    }
    if not row.get("history_intervals"):
        volume["checked"] = False
        result.notes.append(
            "volume band not checked: no earlier interval of the same length since the first "
            "stored event"
        )
    elif row.get("volume_ratio") is None:
        volume["checked"] = False
        result.notes.append("volume band not checked: the previous intervals held no events")
    if row.get("dead_letter_share") is None:
        dead["checked"] = False
        result.notes.append("dead-letter share not checked: nothing arrived during the interval")
    for position, outcome in enumerate(result.outcomes):
        if outcome.data_asset != quality.RAW_VOLUME_ASSET:
            continue
        observed = volume if outcome.column == "volume_ratio" else dead
        result.outcomes[position] = _replace(outcome, observed_value=observed)


def _replace(outcome: Outcome, **changes: Any) -> Outcome:
    from dataclasses import replace

    return replace(outcome, **changes)


def _store(dsn: str, result: GateResult, project_dir: Path) -> None:
    """Write the run and its outcomes to quality.* in one transaction (as pulse_transform)."""
    gx = _gx()
    docs = result.data_docs_page or result.data_docs_index
    if docs is not None and docs.is_relative_to(project_dir.resolve()):
        docs = docs.relative_to(project_dir.resolve())
    # Least privilege: a superuser DSN (the embedded stack) still writes as pulse_transform.
    with connect(dsn, role=TRANSFORM_ROLE, required=False) as conn:
        conn.execute(
            "insert into quality.validation_runs (validation_run_id, run_id, layer, "
            "checkpoint_name, build_schema, interval_start, interval_end, success, "
            "evaluated_expectations, successful_expectations, started_at, finished_at, "
            "data_docs_page, great_expectations_version) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                result.validation_run_id,
                result.run_id,
                result.layer,
                result.checkpoint,
                result.build_schema,
                result.interval_start,
                result.interval_end,
                result.success,
                len(result.outcomes),
                sum(outcome.success for outcome in result.outcomes),
                result.started_at,
                result.finished_at,
                str(docs) if docs else None,
                gx.__version__,
            ],
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into quality.validation_results (validation_run_id, run_id, layer, "
                "suite, data_asset, expectation, column_name, rule, kwargs, success, "
                "observed_value, unexpected_count, element_count, exception_message) "
                "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        result.validation_run_id,
                        result.run_id,
                        result.layer,
                        outcome.suite,
                        outcome.data_asset,
                        outcome.expectation,
                        outcome.column,
                        outcome.rule,
                        Jsonb(outcome.kwargs),
                        outcome.success,
                        Jsonb(outcome.observed_value),
                        outcome.unexpected_count,
                        outcome.element_count,
                        outcome.exception_message,
                    )
                    for outcome in result.outcomes
                ],
            )


def default_interval(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Yesterday, UTC: the interval a daily run validates."""
    today = (
        (now or datetime.now(UTC))
        .astimezone(UTC)
        .replace(hour=0, minute=0, second=0, microsecond=0)
    )
    return today - timedelta(days=1), today


# -- command line: python -m pulse.quality build|check ------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """`python -m pulse.quality build` rewrites the project; `check` exits 1 when it drifted."""
    args = sys.argv[1:] if argv is None else argv
    if args not in (["build"], ["check"]):
        print("usage: python -m pulse.quality build|check", file=sys.stderr)
        return 2
    if args == ["build"]:
        changed = write_project()
        print(f"expectations: {len(changed)} file(s) written or removed")
        for name in changed:
            print(f"  {name}")
        return 0
    stale = stale_files()
    if stale:
        print("expectations out of date: " + ", ".join(stale), file=sys.stderr)
        print("run `python -m pulse.quality build`", file=sys.stderr)
        return 1
    print("expectations up to date")
    return 0
