"""Storing a gate's result: one row per run in quality.validation_runs and one per expectation
in quality.validation_results.

The promote step reads these rows to decide whether a build may go live; the CLI summary points
at them by validation_run_id.
"""

from __future__ import annotations

from pathlib import Path

from psycopg.types.json import Jsonb

from pulse.quality.gx import import_gx
from pulse.quality.results import GateResult
from pulse.warehouse.connect import connect
from pulse.warehouse.names import TRANSFORM_ROLE


def store_result(dsn: str, result: GateResult, project_dir: Path) -> None:
    """Write the run and its outcomes to quality.* in one transaction (as pulse_transform).

    Args:
        dsn: warehouse connection string (a role that writes quality, or may act as
            pulse_transform).
        result: the gate's result, details included.
        project_dir: the project folder; the Data Docs page is stored relative to it.
    """
    # Only for its version, which each run records; the runner has imported it already.
    gx = import_gx()
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
