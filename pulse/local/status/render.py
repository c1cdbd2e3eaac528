"""`pulse status` as tables (problems in red)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from pulse.local.status.collect import collect_status
from pulse.local.status.verdict import Status
from pulse.settings import Settings

# -- rendering -------------------------------------------------------------------------------------


def render_status(settings: Settings, out: Console) -> Status:
    """Collect and print the status tables (problems in red); returns what was collected."""
    status = collect_status(settings)
    render(status, out)
    return status


def render(status: Status, out: Console) -> None:
    """The status as tables."""
    services = Table(title="services")
    for column in ("service", "where", "state"):
        services.add_column(column)
    for service in status.services:
        name = f"{service.name} (embedded)" if service.embedded else service.name
        state = "[green]up[/green]" if service.up else f"[red]down[/red]: {service.error}"
        if service.process is not None:
            state += f" (process {service.process})"
        services.add_row(name, service.where, state)
    out.print(services)
    for service in status.services:
        if not service.up:
            out.print(f"[red]{service.name} unreachable[/red]: {service.error}")
    for mismatch in status.topic_mismatches:
        out.print(f"[red]topic differs from the settings[/red]: {mismatch}")

    positions = Table(title=f"{status.topic} (group {status.consumer_group})")
    for column in ("partition", "topic end", "stored offset", "epoch", "lag"):
        positions.add_column(column, justify="right")
    for p in status.positions:
        positions.add_row(
            str(p.partition), _fmt(p.end_offset), _fmt(p.stored_offset), _fmt(p.epoch), _fmt(p.lag)
        )
    out.print(positions)
    lag = status.total_lag
    lag_text = "unknown" if lag is None else f"{lag:,} messages"
    colour = "red" if lag is not None and lag > status.max_lag else "green"
    out.print(f"lag: [{colour}]{lag_text}[/{colour}] (allowed {status.max_lag:,})")

    warehouse = status.warehouse
    if warehouse is None:
        return
    age = warehouse.raw_age_s
    newest = warehouse.newest_ingested_at
    freshness = (
        "raw holds no event"
        if newest is None
        else f"newest row ingested {newest.isoformat()} ({age:,.0f} s ago)"
    )
    if warehouse.newest_occurred_at is not None:
        freshness += f", newest event occurred {warehouse.newest_occurred_at.isoformat()}"
    colour = "red" if status.stale else "green"
    out.print(f"freshness: [{colour}]{freshness}[/{colour}]")

    if warehouse.gaps:
        table = Table(title="[red]unresolved ingest gaps[/red] (`pulse gaps --resolve ID`)")
        for column in ("id", "partition", "cause", "stored", "partition range", "resumed"):
            table.add_column(column)
        table.add_column("messages may be missing between")
        for gap in warehouse.gaps:
            table.add_row(
                str(gap.gap_id),
                str(gap.partition),
                gap.cause,
                f"{gap.stored_offset:,}",
                f"{_fmt(gap.log_start_offset)}..{_fmt(gap.log_end_offset)}",
                f"{gap.resume_offset:,}",
                f"{gap.lost_from.isoformat() if gap.lost_from else '-'} and "
                f"{gap.detected_at.isoformat()}",
            )
        out.print(table)

    configured = status.configured_key_fingerprint or ""
    if warehouse.key_fingerprint is None:
        out.print("pseudonym key: no fingerprint recorded yet (the first consumer records one)")
    elif warehouse.key_fingerprint == configured:
        out.print(f"pseudonym key: fingerprint {configured[:12]}, the configured key")
    else:
        out.print(
            f"[red]pseudonym key: the warehouse's is {warehouse.key_fingerprint[:12]}, the "
            f"configured one is {configured[:12]}[/red]: ingest refuses to start"
        )

    counts = Table(title="raw")
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    events = warehouse.events
    shown = f"{events.rows:,}" if events.exact else f"~{events.rows:,} ({events.method})"
    if events.method == "lower bound":
        shown = f"more than {events.rows:,}"
    counts.add_row("community_events", shown)
    counts.add_row("duplicates dropped", f"{warehouse.duplicates:,}")
    for reason, count, unpublished in warehouse.dead_letters:
        note = f" ({unpublished:,} not on the DLQ topic)" if unpublished else ""
        counts.add_row(f"dead_letter_events ({reason})", f"{count:,}{note}")
    out.print(counts)

    run = warehouse.last_run
    if run is None:
        out.print("last run: none recorded")
    else:
        colour = {"success": "green", "failed": "red"}.get(run["status"], "yellow")
        line = (
            f"last run: [{colour}]{run['status']}[/{colour}] {run['run_id']} "
            f"({run['interval_start'].isoformat()} to {run['interval_end'].isoformat()}), "
            f"started {run['started_at'].isoformat()}"
        )
        if run["status"] == "failed":
            line += f", failed at {run['failed_step']}: {run['error']}"
        out.print(line)


def _fmt(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
