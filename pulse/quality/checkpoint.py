"""Running one checkpoint of the committed project and reading what it found.

The project is opened with the data sources' connection strings filled in memory (`${PULSE_GX_*}`
substitution through `runtime_environment`; never written to disk). The checkpoint runs, then
Data Docs are built for it once under `gx/uncommitted/data_docs/`, and each expectation's result
becomes an `Outcome`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pulse.errors import PulseError
from pulse.quality.gx import GX_DIR, import_gx
from pulse.quality.marts_suites import MARTS_CHECKPOINT
from pulse.quality.raw_suites import RAW_CHECKPOINT
from pulse.quality.results import GateResult, Outcome, jsonable
from pulse.quality.rules import Layer
from pulse.quality.suites import all_suites

logger = logging.getLogger(__name__)


@contextmanager
def open_context(project_dir: Path, environment: Mapping[str, str]) -> Iterator[Any]:
    """Open the project with `environment` filling its `${...}` references, in memory only.

    Args:
        project_dir: folder holding the project (`gx/` inside).
        environment: the data sources' connection strings, by variable name.

    Yields:
        The file data context; its engines are disposed of when the block ends.

    Raises:
        PulseError: `project_dir` holds no project.
    """
    gx = import_gx()
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


def run_checkpoint(
    project_dir: Path,
    *,
    layer: Layer,
    run_id: str,
    environment: Mapping[str, str],
    parameters: dict[str, Any],
    build_schema: str | None = None,
    interval: tuple[datetime, datetime] | None = None,
) -> GateResult:
    """Run the layer's checkpoint once, build its Data Docs, and read one outcome per expectation.

    Args:
        project_dir: folder holding the project (`gx/` inside).
        layer: which gate: the raw checkpoint or the marts checkpoint.
        run_id: the pipeline run this gate belongs to (the checkpoint's run name).
        environment: the data sources' connection strings, by variable name.
        parameters: values of the suites' `{"$PARAMETER": ...}` references.
        build_schema: the build validated (marts), recorded in the result.
        interval: the data interval validated (raw), recorded in the result.

    Returns:
        The result, not yet stored; nothing here raises on a failed expectation.

    Raises:
        PulseError: `project_dir` holds no project.
    """
    # Quietly (analytics off, its log level set) before any part of it is imported.
    import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    checkpoint_name = RAW_CHECKPOINT if layer == "raw" else MARTS_CHECKPOINT
    specs = {spec.name: spec for spec in all_suites()}
    started = datetime.now(UTC)
    clock = time.perf_counter()
    with open_context(project_dir, environment) as context:
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
                outcomes.append(outcome_from_gx(validation.suite_name, asset, item))
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
    """The local file of a validation's Data Docs page (or of the index, for None)."""
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


def outcome_from_gx(suite: str, asset: str, item: Any) -> Outcome:
    """One expectation's result as an `Outcome`, its observed value in plain JSON.

    Args:
        suite: the suite the expectation belongs to.
        asset: the data asset the suite validates.
        item: Great Expectations' `ExpectationValidationResult`.

    Returns:
        The outcome; an expectation that raised has its message in `exception_message`.
    """
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
            "unexpected_rows": jsonable(details.get("unexpected_rows") or [])[:10],
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
        kwargs=jsonable(kwargs),
        success=bool(item.success),
        observed_value=jsonable(observed),
        unexpected_count=_int_or_none(result.get("unexpected_count")),
        element_count=_int_or_none(result.get("element_count")),
        exception_message=exception,
    )


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None
