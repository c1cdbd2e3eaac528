"""The committed Great Expectations project, rendered from the suites as code.

`expectations/gx/` is a Great Expectations 1.x file data context (great_expectations.yml with two
Postgres data sources, one suite per data asset under expectations/, validation definitions,
checkpoints `raw_gate` and `marts_gate`). Nobody edits its JSON by hand: `python -m pulse.quality
build` regenerates it from `pulse.quality.suites`, deterministically (ids are derived from names),
and `python -m pulse.quality check` (a test runs it) fails when the committed files drift.

The data sources' connection strings are `${PULSE_GX_*}` references; the runner fills them in
memory at run time, so no connection string is ever written to disk.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulse.paths import EXPECTATIONS_DIR
from pulse.quality.gx import GX_DIR, import_gx
from pulse.quality.marts_suites import MARTS_CHECKPOINT, MARTS_DATASOURCE
from pulse.quality.raw_suites import RAW_CHECKPOINT, RAW_DATASOURCE
from pulse.quality.rules import BATCH_DEFINITION
from pulse.quality.suites import all_suites

# The variables the data sources' connection strings refer to (`${...}`).
RAW_DSN_VARIABLE = "PULSE_GX_RAW_DSN"
MARTS_DSN_VARIABLE = "PULSE_GX_MARTS_DSN"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://community-pulse/expectations")


def _stable_id(key: str) -> str:
    # A name-derived id: the same object gets the same id on every build, on every machine.
    return str(uuid.uuid5(_ID_NAMESPACE, key))


def render_project() -> dict[str, str]:
    """Build the Great Expectations project in a scratch folder and return its files.

    Returns:
        Path relative to the project folder (e.g. `gx/checkpoints/raw_gate.json`) -> content.
        Random ids Great Expectations assigns are replaced by ids derived from object names, so
        the same suites always give the same bytes.
    """
    gx = import_gx()
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.datasource.fluent import PostgresDatasource
    from great_expectations.datasource.fluent.sql_datasource import QueryAsset, TableAsset

    suites = all_suites()
    with tempfile.TemporaryDirectory() as scratch:
        context = gx.get_context(mode="file", project_root_dir=scratch)
        context.variables.data_context_id = uuid.UUID(_stable_id("data_context"))
        context.variables.analytics_enabled = False
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        context.variables.save()

        for datasource_name, variable in (
            (RAW_DATASOURCE, RAW_DSN_VARIABLE),
            (MARTS_DATASOURCE, MARTS_DSN_VARIABLE),
        ):
            assets = [
                QueryAsset(
                    name=spec.asset,
                    query=spec.query,
                    batch_definitions=[BatchDefinition(name=BATCH_DEFINITION)],
                )
                if spec.query is not None
                else TableAsset(
                    name=spec.asset,
                    table_name=spec.asset,
                    batch_definitions=[BatchDefinition(name=BATCH_DEFINITION)],
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
                .get_batch_definition(BATCH_DEFINITION)
            )
            definitions[spec.layer].append(
                context.validation_definitions.add(
                    gx.ValidationDefinition(name=spec.name, data=batch_definition, suite=suite)
                )
            )
        for name, layer in ((RAW_CHECKPOINT, "raw"), (MARTS_CHECKPOINT, "marts")):
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

    Args:
        project_dir: the project folder to rewrite (default: the committed expectations/).

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
    """Files of the committed project that differ from what the builder writes.

    Args:
        project_dir: the project folder to compare (default: the committed expectations/).

    Returns:
        Paths relative to `project_dir`, sorted: files missing, changed, or that should not be
        there; empty when the project is up to date.
    """
    return _stale(project_dir, render_project())


def _stale(project_dir: Path, expected: dict[str, str]) -> list[str]:
    # gx/uncommitted/ holds Data Docs and validation results of local runs, never compared.
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
    """Copy the committed project (without uncommitted/) to `target`, e.g. a task's own folder.

    Args:
        target: the folder to copy into; `target/gx` must not exist yet.
        source: the project folder to copy (default: the committed expectations/).

    Returns:
        `target`, for `GateSettings.project_dir`.
    """
    shutil.copytree(source / GX_DIR, target / GX_DIR, ignore=shutil.ignore_patterns("uncommitted"))
    return target
