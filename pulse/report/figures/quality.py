"""The data quality figure: the messages the ingest consumer rejected, by reason."""

from __future__ import annotations

from pulse.report import svg as charts
from pulse.report.data import ReportData
from pulse.report.figures.layout import PANEL_2, Figure, figure
from pulse.report.figures.numbers import share_text
from pulse.report.svg import Bar, esc
from pulse.warehouse.names import DEAD_LETTER_REASONS


def dead_letters_figure(data: ReportData) -> Figure:
    """Dead letters by reason, with a few facts about them (or why they are not shown).

    Args:
        data: the report's figures.

    Returns:
        The figure, with the data points it drew.
    """
    source = esc(data.dead_letters_source)
    if data.dead_letters is None:
        chart = charts.empty_chart("", "not readable with this connection", width=PANEL_2)
        return figure(
            "dead_letters", "Dead letters by reason", f"Source: {source}.", [chart], empty_ok=True
        )
    counts = {reason: 0 for reason in DEAD_LETTER_REASONS}
    for row in data.dead_letters:
        counts[row.reason] = row.count
    total = sum(counts.values())
    bars = [
        Bar(
            reason,
            float(n),
            "#e8590c",
            f"{reason}: {n:,} dead letters ({n / total:.1%} of them)",
            f"{n:,} · {share_text(n / total)}",
        )
        for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if n
    ]
    chart = charts.hbar_chart(
        bars,
        title="",
        x_format=charts.number(0),
        x_label="messages rejected at ingest",
        width=PANEL_2,
        row_height=32,
        label_width=150,
    )
    if not bars:
        chart = charts.empty_chart("", "no dead letters: every message was valid", width=PANEL_2)
    messages = total + (data.events_stored or 0)
    first = min((r.first_received_at for r in data.dead_letters), default=None)
    last = max((r.last_received_at for r in data.dead_letters), default=None)
    facts = [
        ("dead letters", f"{total:,}"),
        ("share of stored messages", f"{total / messages:.2%}" if messages else "\u2013"),
        ("valid events in raw", f"{data.events_stored or 0:,}"),
        ("replayed", f"{sum(r.replayed for r in data.dead_letters):,}"),
        ("first received", f"{first:%Y-%m-%d %H:%M} UTC" if first else "\u2013"),
        ("last received", f"{last:%Y-%m-%d %H:%M} UTC" if last else "\u2013"),
        ("reasons with none", ", ".join(r for r, n in counts.items() if not n) or "\u2013"),
    ]
    facts_html = (
        '<dl class="facts">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
        + "</dl>"
    )
    return figure(
        "dead_letters",
        "Dead letters by reason",
        "Messages the ingest consumer rejected; each also went to the dead-letter topic with "
        f"its reason. Source: {source}.",
        [(chart, facts_html)],
        columns=1,
        empty_ok=True,  # no dead letter at all is good news, not a broken chart
    )
