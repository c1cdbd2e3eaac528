"""Incidents on the page: their windows shaded on the time charts, and the tables of them.

An incident (marts.fct_alert_incidents) is a condition that held in a community from the day it
opened to the day it resolved, or, while it is open, to the last day it was seen. The sentiment,
engagement and brand voice charts shade those windows for their own incident type; the tables
list the open incidents and those resolved in the shown period, with the figures at the peak.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from pulse.report.data import Incident, ReportData
from pulse.report.figures.communities import (
    NO_BRAND,
    community_label,
    community_names,
    community_styles,
)
from pulse.report.figures.numbers import hours_text, share_text
from pulse.report.svg import ALERT_COLOR, MUTED_COLOR, Band, day_label, esc

# Rows of each incidents table (the charts shade every window of their type).
OPEN_TABLE_ROWS = 30
RESOLVED_TABLE_ROWS = 15
# What each metric of the mart measures, as the tables word it.
METRIC_WORDS = {
    "negative_share": "negative share of posts and comments",
    "brand_post_share": "brand share of posts",
    "engagements_per_post": "engagements per post",
    "quiet_core_share": "share of core members gone quiet",
    "hours_unanswered": "time without a response",
}


def days_covered(incident: Incident) -> tuple[date, date]:
    """The first and last UTC day of an incident's window (its end is exclusive)."""
    first = incident.opened_at.astimezone(UTC).date()
    last = (incident.window_end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return first, max(first, last)


def incident_brand(data: ReportData, incident: Incident) -> str:
    """The brand panel an incident belongs to: its community's brand, as the charts group them."""
    community = community_names(data).get(incident.community_id)
    return (community.brand_id if community else incident.brand_id) or NO_BRAND


def incident_bands(data: ReportData, alert_type: str, brand: str, *, step: int) -> list[Band]:
    """The windows of one type's incidents in one brand's communities, as bands of a time chart.

    Args:
        data: the report's figures.
        alert_type: the incident type the chart is about.
        brand: the brand of the panel (`NO_BRAND` for communities without one).
        step: days between the chart's points: 1 shades whole days, 7 the whole weeks the
            window touches (a weekly chart's point stands for its week).

    Returns:
        One band per incident, in opening order.
    """
    names = community_names(data)
    styles = community_styles(data)
    bands = []
    for incident in sorted(data.incidents, key=lambda i: (i.opened_at, i.community_id)):
        if incident.alert_type != alert_type or incident_brand(data, incident) != brand:
            continue
        first, last = days_covered(incident)
        if step == 7:
            start = (first - timedelta(days=first.weekday())).toordinal() - 3.5
            end = (last - timedelta(days=last.weekday())).toordinal() + 3.5
        else:
            start, end = first.toordinal() - 0.5, last.toordinal() + 0.5
        community = names.get(incident.community_id)
        name = community.name if community else incident.community_id
        bands.append(
            Band(
                start,
                end,
                window_text(incident, community_label(community, incident.community_id)),
                tag=f"{name} · open" if incident.is_open else name,
                accent=styles.get(incident.community_id, (MUTED_COLOR, False))[0],
                color=ALERT_COLOR,
                open_end=incident.is_open,
                strong=incident.severity == "critical",
            )
        )
    return bands


def window_text(incident: Incident, label: str) -> str:
    """An incident in one line: type, peak severity, community, window, figures at the peak."""
    first, last = days_covered(incident)
    if incident.is_open:
        span = f"{day_label(first)} \u2013 open, last seen {day_label(last)}"
    else:
        span = f"{day_label(first)} \u2013 {day_label(last)}, resolved"
    return (
        f"{incident.alert_type} ({incident.severity}) · {label} · {span} · "
        f"{METRIC_WORDS.get(incident.metric, incident.metric)} {peak_text(incident)}"
    )


def figure_text(metric: str, value: float | None) -> str:
    """One figure of an incident in the unit of its metric."""
    if value is None:
        return "\u2013"
    if metric == "hours_unanswered":
        return hours_text(value)
    if metric.endswith("_share"):
        return share_text(value) or "0%"
    return f"{value:,.2f}"


def peak_text(incident: Incident) -> str:
    """Observed against baseline at the peak, `80% vs 18% (4.4x)`; an idea's wait alone."""
    observed = figure_text(incident.metric, incident.observed)
    if incident.baseline is None:
        return observed
    text = f"{observed} vs {figure_text(incident.metric, incident.baseline)}"
    if incident.baseline > 0 and incident.observed is not None:
        text += f" ({incident.observed / incident.baseline:.1f}\u00d7)"
    return text


def moment_text(at: datetime, *, end: bool = False) -> str:
    """A moment of an incident as the tables show it: a UTC day when it falls on midnight.

    An end at midnight is the end of the day before (a window's end is exclusive).
    """
    at = at.astimezone(UTC)
    if at.time() == time(0):
        return f"{(at - timedelta(days=1) if end else at):%Y-%m-%d}"
    return f"{at:%Y-%m-%d %H:%M}"


def open_incidents(data: ReportData) -> list[Incident]:
    """The open incidents, critical first, then the longest running."""
    return sorted(
        (i for i in data.incidents if i.is_open),
        key=lambda i: (i.severity != "critical", i.opened_at, i.community_id, i.alert_type),
    )


def resolved_in_period(data: ReportData) -> list[Incident]:
    """The incidents resolved within the shown days, the latest first."""
    if not data.first_day or not data.last_day:
        return []
    start = datetime.combine(data.first_day, time(0), tzinfo=UTC)
    stop = datetime.combine(data.last_day + timedelta(days=1), time(0), tzinfo=UTC)
    return sorted(
        (i for i in data.incidents if i.resolved_at and start < i.resolved_at <= stop),
        key=lambda i: (i.resolved_at, i.community_id, i.alert_type),
        reverse=True,
    )


def incident_tables(data: ReportData) -> str:
    """The open incidents and the incidents resolved in the period, as two HTML tables."""
    names = community_names(data)

    def where(incident: Incident) -> str:
        brand = incident_brand(data, incident)
        community = community_label(names.get(incident.community_id), incident.community_id)
        return f"<td>{esc(brand)}</td><td>{esc(community)}</td>"

    def what(incident: Incident) -> str:
        idea = f" (idea {incident.idea_id})" if incident.idea_id else ""
        severity = esc(incident.severity)
        return (
            f"<td>{esc(incident.alert_type + idea)}</td>"
            f'<td class="severity-{severity}">{severity}</td>'
        )

    def peak(incident: Incident) -> str:
        metric = METRIC_WORDS.get(incident.metric, incident.metric)
        # an idea's "peak" is only the latest day of its wait, which the last-seen column shows
        on = f", {incident.peak_on:%Y-%m-%d}" if incident.peak_on and not incident.idea_id else ""
        return f"<td>{esc(peak_text(incident))}</td><td>{esc(metric + on)}</td>"

    opened = open_incidents(data)
    resolved = resolved_in_period(data)

    def when(at: datetime | None, *, end: bool = False) -> str:
        return f'<td class="when">{esc(moment_text(at, end=end)) if at else ""}</td>'

    open_rows = [
        f"<tr>{where(i)}{what(i)}{when(i.opened_at)}{when(i.last_seen_at, end=True)}"
        f"<td>{i.days_held:,}</td>{peak(i)}</tr>"
        for i in opened
    ]
    resolved_rows = [
        f"<tr>{where(i)}{what(i)}{when(i.opened_at)}{when(i.resolved_at, end=True)}"
        f"<td>{esc((i.resolution or '').replace('_', ' '))}</td>{peak(i)}</tr>"
        for i in resolved
    ]
    head = '<th scope="col">brand</th><th scope="col">community</th><th scope="col">type</th>'
    head += '<th scope="col">peak severity</th><th scope="col">opened (UTC)</th>'
    peak_head = (
        '<th scope="col">at the peak: observed vs baseline</th>'
        '<th scope="col">measure, peak day</th>'
    )
    return _table(
        f"Open incidents ({len(opened):,})",
        f'{head}<th scope="col">last day seen</th><th scope="col">days held</th>{peak_head}',
        open_rows,
        OPEN_TABLE_ROWS,
        "No open incident.",
    ) + _table(
        f"Resolved in the period ({len(resolved):,})",
        f'{head}<th scope="col">resolved (UTC)</th><th scope="col">how</th>{peak_head}',
        resolved_rows,
        RESOLVED_TABLE_ROWS,
        "No incident resolved in the period.",
    )


def _table(caption: str, head: str, rows: Iterable[str], limit: int, none: str) -> str:
    """A table of at most `limit` rows, with a note of how many more there are."""
    rows = list(rows)
    if not rows:
        return f'<p class="note">{esc(none)}</p>'
    more = len(rows) - limit
    return (
        f'<div class="scroll"><table class="listing"><caption>{esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows[:limit])}</tbody></table></div>"
        + (f'<p class="note">… and {more:,} more.</p>' if more > 0 else "")
    )
