"""The row of key figures at the top of the page: one tile per question the report answers."""

from __future__ import annotations

import statistics

from pulse.report.data import ReportData
from pulse.report.figures.incidents import open_incidents, resolved_in_period
from pulse.report.figures.numbers import hours_text
from pulse.report.svg import esc


def kpi_tiles(data: ReportData) -> str:
    """The KPI tiles: communities, members, lift, ideas answered, incidents, dead letters."""
    micro = sum(1 for c in data.communities if c.kind == "micro")
    broad = sum(1 for c in data.communities if c.kind == "broad")
    members = sum(c.members_current or 0 for c in data.communities if not c.is_suppressed)
    lifts = [r.lift for r in data.lift if r.lift is not None]
    answered = [i.hours_to_first_response for i in data.ideas if i.hours_to_first_response]
    dead = sum(r.count for r in data.dead_letters) if data.dead_letters is not None else None
    still_open = open_incidents(data)
    critical = sum(1 for i in still_open if i.severity == "critical")
    tiles = [
        ("Communities", f"{len(data.communities):,}", f"{micro} micro · {broad} broad"),
        ("Members now", f"{members:,}", "in communities large enough to show"),
        (
            "Median weekly lift",
            f"{statistics.median(lifts):.1f}\u00d7" if lifts else "\u2013",
            "micro vs broad engagement per member and post",
        ),
        (
            "Ideas answered",
            f"{len(answered) / len(data.ideas):.0%}" if data.ideas else "\u2013",
            f"median first response {hours_text(statistics.median(answered))}"
            if answered
            else "no answer yet",
        ),
        (
            "Open incidents",
            f"{len(still_open):,}",
            f"{critical:,} critical · {len(resolved_in_period(data)):,} resolved in the period",
        ),
        (
            "Dead letters",
            f"{dead:,}" if dead is not None else "\u2013",
            "messages rejected at ingest" if dead is not None else "raw not readable",
        ),
    ]
    return (
        '<section class="kpis">'
        + "".join(
            f'<div class="kpi"><div class="kpi-label">{esc(label)}</div>'
            f'<div class="kpi-value">{esc(value)}</div>'
            f'<div class="kpi-note">{esc(note)}</div></div>'
            for label, value, note in tiles
        )
        + "</section>"
    )
