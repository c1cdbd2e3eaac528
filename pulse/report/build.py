"""`pulse report`: read the figures, render the page, write it, and say what it shows."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pulse.paths import DEFAULT_REPORT_PATH
from pulse.report.page import render_report
from pulse.report.read import load_report_data
from pulse.settings import Settings
from pulse.warehouse.names import BI_ROLE

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportSummary:
    """What `build_report` wrote: the file, and the data points each chart shows."""

    path: Path
    points: dict[str, int]
    read_as: str = BI_ROLE
    build: str | None = None
    alerts_source: str = ""
    dead_letters_source: str = ""
    optional_charts: frozenset[str] = field(default_factory=frozenset)

    @property
    def empty_charts(self) -> list[str]:
        """Charts without data that should have some (no dead letters at all is fine)."""
        return [
            name for name, n in self.points.items() if n == 0 and name not in self.optional_charts
        ]

    def describe(self) -> str:
        """One line for the terminal: charts with data, points drawn, charts without data."""
        shown = sum(1 for n in self.points.values() if n)
        text = f"{shown}/{len(self.points)} charts with data, {sum(self.points.values()):,} points"
        if self.empty_charts:
            text += f"; without data: {', '.join(self.empty_charts)}"
        return text


def build_report(
    dsn: str,
    out_path: Path = DEFAULT_REPORT_PATH,
    *,
    settings: Settings,
    ops_dsn: str | None = None,
    now: datetime | None = None,
) -> ReportSummary:
    """Read the marts as pulse_bi and write the HTML report.

    Args:
        dsn: warehouse connection string of a role that is, or may act as, pulse_bi.
        out_path: where to write the page (missing folders are created).
        settings: the run's settings (minimum group size, alert thresholds).
        ops_dsn: connection for what BI may not read (dead letters, published alerts); default
            `dsn`, acting as pulse_transform when it may.
        now: the generation time printed on the page (default: now, UTC).

    Returns:
        The path written and the number of data points of each chart.

    Raises:
        ReportError: the DSN cannot act as pulse_bi, or `marts` has not been published yet.
    """
    data = load_report_data(dsn, settings=settings, ops_dsn=ops_dsn, now=now)
    page, points, optional = render_report(data)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    summary = ReportSummary(
        path=out_path,
        points=points,
        read_as=data.read_as,
        build=data.build,
        alerts_source=data.alerts_source,
        dead_letters_source=data.dead_letters_source,
        optional_charts=frozenset(optional),
    )
    logger.debug("report written to %s: %s", out_path, summary.describe())
    return summary
