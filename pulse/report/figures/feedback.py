"""Feedback portal figures: the funnel of ideas, their status now, the brand's response times."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from pulse.report import svg as charts
from pulse.report.data import ReportData
from pulse.report.figures.layout import PANEL_1, PANEL_2, Figure, figure
from pulse.report.figures.numbers import hours_text
from pulse.report.svg import ALERT_COLOR, MICRO_COLOR, Bar, ColumnSeries, LegendItem

IDEA_STATUSES = ("submitted", "under_review", "accepted", "implemented", "declined")
RESPONSE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 h", 1),
    ("1\u20134 h", 4),
    ("4\u201312 h", 12),
    ("12\u201324 h", 24),
    ("1\u20132 days", 48),
    ("2\u20134 days", 96),
    ("4\u20137 days", 168),
    ("> 7 days", float("inf")),
)


def feedback_figures(data: ReportData) -> tuple[Figure, Figure, Figure]:
    """The feedback funnel, the ideas by current status, and the response times.

    Args:
        data: the report's figures.

    Returns:
        The figures, in the order the page shows them.
    """
    ideas = data.ideas
    total = len(ideas)
    answered = sum(1 for i in ideas if i.hours_to_first_response is not None)
    decided = sum(1 for i in ideas if i.decision_status is not None)
    said_yes = sum(1 for i in ideas if i.decision_status in ("accepted", "implemented"))
    implemented = sum(1 for i in ideas if i.current_status == "implemented")
    funnel = charts.funnel_chart(
        [
            ("Submitted", total),
            ("Answered by the brand", answered),
            ("Decided", decided),
            ("Accepted or implemented", said_yes),
            ("Implemented (now)", implemented),
        ],
        title="",
        width=PANEL_2,
    )
    funnel_fig = figure(
        "feedback_funnel",
        f"Feedback funnel ({total:,} ideas)",
        "marts.fct_feedback_ideas. Answered: a status change or a brand/moderator comment. "
        "Decided: first accepted, implemented or declined. Percentages of all ideas submitted.",
        [funnel],
    )
    counts = {status: 0 for status in IDEA_STATUSES}
    for idea in ideas:
        counts[idea.current_status] = counts.get(idea.current_status, 0) + 1
    colours = {
        "submitted": "#9498a0",
        "under_review": "#efb118",
        "accepted": "#3ca951",
        "implemented": "#1f7a3a",
        "declined": ALERT_COLOR,
    }
    bars = [
        Bar(
            status.replace("_", " "),
            float(n),
            colours.get(status, MICRO_COLOR),
            f"{status}: {n:,} ideas ({n / total:.0%})",
            f"{n:,} · {n / total:.0%}",
        )
        for status, n in counts.items()
        if total
    ]
    status_fig = figure(
        "feedback_status",
        "Ideas by current status",
        "marts.fct_feedback_ideas.current_status: the last status set ('submitted' before any).",
        [
            charts.hbar_chart(
                bars,
                title="",
                x_format=charts.number(0),
                x_label="ideas",
                width=PANEL_2,
                row_height=36,
                label_width=120,
            )
        ],
    )
    first = _bucket_counts(i.hours_to_first_response for i in ideas)
    decision = _bucket_counts(i.hours_to_decision for i in ideas)
    response_chart = charts.column_chart(
        [label for label, _ in RESPONSE_BUCKETS],
        [
            ColumnSeries("first brand response", first, MICRO_COLOR),
            ColumnSeries("decision", decision, "#3ca951"),
        ],
        title="",
        y_format=charts.number(0),
        y_label="ideas",
        x_label="time after submission",
        width=PANEL_1,
        height=270,
    )
    response_hours = [i.hours_to_first_response for i in ideas if i.hours_to_first_response]
    decision_hours = [i.hours_to_decision for i in ideas if i.hours_to_decision]
    caption = (
        "marts.fct_feedback_ideas.hours_to_first_response and hours_to_decision: the brand's "
        "own behaviour, shown even for small communities."
    )
    if response_hours:
        median_response = hours_text(statistics.median(response_hours))
        caption += f" Median first response <strong>{median_response}</strong>"
        if decision_hours:
            median_decision = hours_text(statistics.median(decision_hours))
            caption += f", median decision <strong>{median_decision}</strong>"
        caption += f"; {total - answered:,} idea(s) not answered yet."
    response_fig = figure(
        "response_times",
        "Feedback response times",
        caption,
        [response_chart],
        legend=charts.legend(
            [
                LegendItem("first brand response", MICRO_COLOR, "bar"),
                LegendItem("decision (accepted, implemented or declined)", "#3ca951", "bar"),
            ]
        ),
    )
    return funnel_fig, status_fig, response_fig


def _bucket_counts(hours: Iterable[float | None]) -> list[float]:
    """How many of `hours` fall in each of `RESPONSE_BUCKETS` (None: not yet)."""
    counts = [0.0] * len(RESPONSE_BUCKETS)
    for value in hours:
        if value is None:
            continue
        for k, (_, limit) in enumerate(RESPONSE_BUCKETS):
            if value < limit:
                counts[k] += 1
                break
    return counts
