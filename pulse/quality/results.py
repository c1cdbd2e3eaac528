"""What a gate run found: one `Outcome` per expectation, the `GateResult`, and its summary.

These are plain data: the runner fills them from the checkpoint's result, `pulse.quality.store`
writes them to quality.*, and the CLI and the pipeline print `GateResult.summary_lines()`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pulse.errors import PulseError
from pulse.quality.rules import Layer


class GateFailed(PulseError):
    """A gate found data that must not reach BI; `result` says what."""

    def __init__(self, result: GateResult) -> None:
        super().__init__(result.headline())
        self.result = result


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
        """The outcomes of the expectations that were not met."""
        return [outcome for outcome in self.outcomes if not outcome.success]

    @property
    def seconds(self) -> float:
        """How long the checkpoint took, Data Docs included."""
        return (self.finished_at - self.started_at).total_seconds()

    def scope(self) -> str:
        """What was validated: the build (marts) or the data interval (raw)."""
        if self.layer == "marts":
            return f"build {self.build_schema}"
        assert self.interval_start is not None and self.interval_end is not None
        start, end = describe_moment(self.interval_start), describe_moment(self.interval_end)
        return f"interval {start} to {end}"

    def headline(self) -> str:
        """One line: the verdict, how many expectations failed, the scope and the run."""
        verdict = "passed" if self.success else "FAILED"
        failed = (
            f"{len(self.failed)} of {len(self.outcomes)} expectations failed"
            if self.failed
            else f"{len(self.outcomes)} expectations met"
        )
        return f"{self.layer} gate {verdict}: {failed} ({self.scope()}, run {self.run_id})"

    def summary_lines(self, max_failures: int = 12) -> list[str]:
        """A one-screen summary: what failed, where the details are.

        Args:
            max_failures: failed outcomes listed; the rest are counted.

        Returns:
            The headline, then one line per failure, note and place to look.
        """
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


def describe_moment(moment: datetime) -> str:
    """`moment` to the minute, in UTC (e.g. "2026-01-02 00:00 UTC")."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def jsonable(value: Any) -> Any:
    """`value` in plain JSON types, as quality.* stores it.

    Datetimes become ISO text, decimals floats, UUIDs text, and other objects their dict (or,
    lacking one, their text).
    """
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(item) for item in value]
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
        return jsonable(to_dict())
    return str(value)
