"""Details a checkpoint's result leaves out, read straight from the warehouse after the run.

The checkpoints keep the SUMMARY result format (counts and a few values), which is what Data
Docs show; the CLI summary and quality.validation_results also want the offending rows of the
marts' SQL-bodied rules and the raw interval's volume figures, so these are read here and put into
the outcomes before they are stored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

import psycopg
from psycopg import sql

from pulse.quality.raw_suites import RAW_VOLUME_ASSET, RAW_VOLUME_QUERY
from pulse.quality.results import GateResult, jsonable

logger = logging.getLogger(__name__)


def sample_unexpected_rows(dsn: str, build_schema: str, result: GateResult, limit: int = 5) -> None:
    """Put a few offending rows into each failed SQL-bodied outcome of a marts gate.

    The checkpoint's SUMMARY result format keeps only their count. A query that fails here is
    skipped: the outcome keeps what the checkpoint said.

    Args:
        dsn: warehouse connection string (read-only use).
        build_schema: the build the gate validated; the queries run with it as search_path.
        result: the marts gate's result, changed in place.
        limit: rows kept per outcome.
    """
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
            observed["unexpected_rows"] = jsonable(rows)
            result.outcomes[position] = replace(outcome, observed_value=observed)


def explain_volume(dsn: str, session: Mapping[str, str], result: GateResult) -> None:
    """Put the interval's volume figures into the raw_volume outcomes, and say when the band
    was not checked for lack of history.

    Args:
        dsn: warehouse connection string (read-only use).
        session: the raw gate's session settings (the interval), which the volume query reads.
        result: the raw gate's result, changed in place (outcomes and notes).
    """
    with psycopg.connect(dsn) as conn:
        for name, value in session.items():
            conn.execute("select set_config(%s, %s, true)", [name, value])
        cursor = conn.execute(RAW_VOLUME_QUERY)
        names = [column.name for column in cursor.description or []]
        row = dict(zip(names, cursor.fetchone() or (), strict=False))
    volume = {
        key: jsonable(row.get(key))
        for key in ("volume_ratio", "interval_events", "trailing_avg_events", "history_intervals")
    }
    dead = {
        key: jsonable(row.get(key))
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
        if outcome.data_asset != RAW_VOLUME_ASSET:
            continue
        observed = volume if outcome.column == "volume_ratio" else dead
        result.outcomes[position] = replace(outcome, observed_value=observed)
