"""The page: the incidents, then figures grouped into sections, under the KPI tiles; a footer of
sources.

The page needs nothing at view time: its template, styles and scripts are package files
(`pulse/report/assets/`) inlined into it, and its Content-Security-Policy forbids every fetch.
The error hook runs first, so any later script error is written into the DOM; the self-check
runs last: it counts the data points each chart drew and marks `<body>` with
`data-js-ok="true"` when every chart has data and no script error happened (the tests read it
with headless Chromium).
"""

from __future__ import annotations

import json
from datetime import UTC
from functools import cache
from importlib import resources

from pulse.report.data import ReportData
from pulse.report.figures import (
    brand_voice_figure,
    brand_voice_over_time_figure,
    dead_letters_figure,
    engagement_rate_figure,
    feedback_figures,
    incident_tables,
    lift_figure,
    micro_vs_broad_figure,
    retention_figure,
    sentiment_figure,
    topics_figure,
)
from pulse.report.kpis import kpi_tiles
from pulse.report.svg import esc
from pulse.warehouse.names import BI_ROLE, MARTS_SCHEMA

ASSETS = resources.files("pulse.report") / "assets"


@cache
def _asset(name: str) -> str:
    """A style sheet or script to inline, without the file's surrounding blank lines."""
    # page.html puts each inlined asset on lines of its own.
    return ASSETS.joinpath(name).read_text(encoding="utf-8").strip("\n")


@cache
def _template() -> str:
    """page.html: `str.format` fields for the parts, so it must hold no other braces."""
    return ASSETS.joinpath("page.html").read_text(encoding="utf-8")


def render_report(data: ReportData) -> tuple[str, dict[str, int], list[str]]:
    """The page, the data points of each chart, and the charts that may be empty.

    Args:
        data: every figure of the report, already read.

    Returns:
        The HTML page, the data points each chart drew (by chart id), and the ids of the charts
        for which no data is normal.
    """
    engagement = engagement_rate_figure(data)
    micro_vs_broad = micro_vs_broad_figure(data)
    lift = lift_figure(data)
    retention = retention_figure(data)
    brand_voice = brand_voice_figure(data)
    voice_over_time = brand_voice_over_time_figure(data)
    topics = topics_figure(data)
    funnel, status, response = feedback_figures(data)
    sentiment = sentiment_figure(data)
    dead_letters = dead_letters_figure(data)
    figures = [
        engagement,
        micro_vs_broad,
        lift,
        retention,
        brand_voice,
        voice_over_time,
        topics,
        funnel,
        status,
        response,
        sentiment,
        dead_letters,
    ]
    sections = [
        (
            "incidents",
            "Incidents: what is wrong where, and since when",
            "A condition that held in a community, from the day it opened until it resolved: "
            "one incident per community and type while it lasts (per idea for an unanswered "
            "one), opened only when the shift from the community's own baseline is unlikely "
            "given its counts. The charts below shade the windows of their own type.",
            [incident_tables(data)],
        ),
        (
            "engagement",
            "Engagement: small groups vs broad channels",
            "How much members engage per post in each community, and how sure we are that a "
            "brand's small groups beat its broad audience.",
            [engagement.html, micro_vs_broad.html, lift.html],
        ),
        ("retention", "Retention: do members stay?", "", [retention.html]),
        (
            "voice",
            "Brand voice: is the brand talking more than its members?",
            "",
            [brand_voice.html, voice_over_time.html],
        ),
        ("topics", "Topics: what each community talks about", "", [topics.html]),
        (
            "feedback",
            "Feedback portal",
            "What members ask for, what the brand decides, and how fast it answers.",
            [f'<div class="two">{funnel.html}{status.html}</div>', response.html],
        ),
        ("sentiment", "Sentiment", "", [sentiment.html]),
        ("quality", "Data quality at ingest", "", [dead_letters.html]),
    ]
    period = (
        f"{data.first_day:%d %b %Y} \u2013 {data.last_day:%d %b %Y} (UTC days)"
        if data.first_day and data.last_day
        else "no days yet"
    )
    body = "".join(
        f'<section class="card" id="{sid}"><h2>{esc(title)}</h2>'
        + (f'<p class="lead">{esc(lead)}</p>' if lead else "")
        + "".join(parts)
        + "</section>"
        for sid, title, lead, parts in sections
    )
    points = {f.chart_id: f.points for f in figures}
    if data.brand is not None:
        period = f"brand {data.brand} \u00b7 {period}"
    page = _template().format(
        period=esc(period),
        generated=esc(f"{data.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"),
        kpis=kpi_tiles(data),
        body=body,
        footer=_footer(data),
        style=_asset("report.css"),
        head_script=_asset("error-hook.js"),
        check_script=_asset("self-check.js"),
        points=esc(json.dumps(points)),
    )
    return page, points, [f.chart_id for f in figures if f.empty_ok]


def _brand_scope(data: ReportData) -> str:
    if data.brand is None:
        return f" ({BI_ROLE} sees every brand)"
    return (
        f"; that role sees only brand <code>{esc(data.brand)}</code>'s rows (row-level security "
        "on the views)"
    )


def _footer(data: ReportData) -> str:
    """Where each part of the page came from, and what privacy rule shaped it."""
    build = esc(data.build) if data.build else "no promotion note on the views"
    items = [
        "<li><strong>Marts</strong>: every chart except the dead-letter summary reads the views "
        f"of schema <code>{MARTS_SCHEMA}</code> over a read-only connection after "
        f"<code>SET ROLE {esc(data.read_as)}</code>, so BI-level access is enough for all of "
        f"them{_brand_scope(data)}. The views showed: {build}.</li>",
        f"<li><strong>Dead-letter summary</strong>: {esc(data.dead_letters_source)}.</li>",
        f"<li><strong>Incidents</strong>: <code>{MARTS_SCHEMA}.fct_alert_incidents</code>, "
        f"read as the marts are (the tables, the KPI tile and the shaded windows); the rule "
        "that opens, escalates and resolves them is the mart's own, stated in its dbt model "
        "description and tuned by the PULSE_INCIDENT_* settings.</li>",
        f"<li><strong>Topics</strong>: <code>{MARTS_SCHEMA}.fct_community_topics_weekly</code>, "
        "read as the marts are; the latest week with data is still in progress, so the "
        "figure shows the week before it.</li>",
        f"<li><strong>Privacy</strong>: a period with fewer than {data.min_group_size} active "
        "members carries no member-derived figure in the marts (is_suppressed); it is a gap "
        "here, never a zero. No member key and no text is read.</li>",
        "<li>Self-contained page: inline SVG, styles and script, nothing fetched when it is "
        "opened. Hover a point for its exact value, a shaded window for its incident.</li>",
    ]
    return "<ul>" + "".join(items) + "</ul>"
