"""`pulse report`: read the figures, render the page, write it, and say what it shows."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from pulse.paths import DEFAULT_REPORT_PATH
from pulse.report.errors import ReportError
from pulse.report.page import render_report
from pulse.report.read import load_report_data
from pulse.settings import Settings
from pulse.warehouse.brand_access import brand_only_roles
from pulse.warehouse.names import BI_ROLE

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportSummary:
    """What `build_report` wrote: the file, and the data points each chart shows."""

    path: Path
    points: dict[str, int]
    read_as: str = BI_ROLE
    build: str | None = None
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
    brand: str | None = None,
    role: str | None = None,
) -> ReportSummary:
    """Read the marts as pulse_bi (or one brand's role) and write the HTML report.

    Args:
        dsn: warehouse connection string of a role that is, or may act as, pulse_bi.
        out_path: where to write the page (missing folders are created).
        settings: the run's settings (minimum group size).
        ops_dsn: connection for what BI may not read (dead letters, events stored); default
            `dsn`, acting as pulse_transform when it may.
        now: the generation time printed on the page (default: now, UTC).
        brand: one brand's report, read as a role that sees that brand only: `role`, else the
            one `pulse bi grant` gave that brand alone (looked up with `dsn`).
        role: with `brand`, the role to read as (a login of the brand may pass its own).

    Returns:
        The path written and the number of data points of each chart.

    Raises:
        ReportError: the DSN cannot act as the role, the role sees another brand too, no role
            sees the brand alone, or `marts` has not been published yet.
    """
    marts_role = BI_ROLE
    if brand is not None:
        marts_role = role or _brand_role(dsn, brand)
    data = load_report_data(
        dsn, settings=settings, ops_dsn=ops_dsn, now=now, marts_role=marts_role, brand=brand
    )
    page, points, optional = render_report(data)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    summary = ReportSummary(
        path=out_path,
        points=points,
        read_as=data.read_as,
        build=data.build,
        dead_letters_source=data.dead_letters_source,
        optional_charts=frozenset(optional),
    )
    logger.debug("report written to %s: %s", out_path, summary.describe())
    return summary


def _brand_role(dsn: str, brand: str) -> str:
    try:
        roles = brand_only_roles(dsn, brand)
    except psycopg.Error as error:
        raise ReportError(
            f"cannot look up brand {brand}'s role with this login ({error.sqlstate or error}): "
            "pass the role to read as (--role)"
        ) from None
    if not roles:
        raise ReportError(
            f"no role sees brand {brand} alone: `pulse bi grant --brand {brand} --role R` first"
        )
    return roles[0]
