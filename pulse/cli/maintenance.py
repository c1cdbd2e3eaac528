"""Maintenance: `pulse replay` (dead letters) and `pulse erase` (member erasure)."""

from __future__ import annotations

from typing import Annotated

import typer

from pulse.cli.app import app, console, friendly, load_settings, option_moment


@app.command()
@friendly
def replay(
    reason: Annotated[
        str | None, typer.Option(help="Only dead letters rejected for this reason.")
    ] = None,
    received_from: Annotated[
        str | None, typer.Option(help="Only dead letters received at or after (ISO 8601).")
    ] = None,
    received_until: Annotated[
        str | None, typer.Option(help="Only dead letters received before (ISO 8601).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Decide and report; change nothing.")] = False,
) -> None:
    """Re-validate dead letters against the current contract; re-inject those that now pass.

    The same as the dead_letter_replay DAG, without Airflow. A dead letter is replayed once.
    """
    from datetime import UTC, datetime

    from pulse.maintenance.replay import replay_dead_letters
    from pulse.runtime import resolve_endpoints
    from streaming.decode import REASONS

    if reason is not None and reason not in REASONS:
        raise typer.BadParameter(f"one of {', '.join(REASONS)}", param_hint="--reason")
    settings = load_settings()
    endpoints = resolve_endpoints(settings)
    report = replay_dead_letters(
        endpoints.pg_dsn,
        endpoints.kafka_bootstrap,
        endpoints.pseudonym_key,
        run_id=f"cli__{datetime.now(UTC).isoformat()}",
        events_topic=settings.events_topic,
        dlq_topic=settings.dlq_topic,
        reasons=[reason] if reason else None,
        received_from=option_moment(received_from, "--received-from"),
        received_until=option_moment(received_until, "--received-until"),
        future_tolerance_s=settings.future_tolerance_s,
        dry_run=dry_run,
    )
    console.print(
        f"[green]replay{' (dry run)' if dry_run else ''}[/green]: {report.selected} selected, "
        f"{report.reinjected} re-injected, {report.still_invalid} still invalid "
        f"{report.still_invalid_by_reason or ''}, {report.not_in_dlq_topic} gone from the DLQ "
        f"topic, {report.erased_member} of erased members"
    )


@app.command()
@friendly
def erase() -> None:
    """Apply member.erased requests to every table now, then check none of their rows is left.

    The same as the member_erasure DAG, without Airflow. Acts as pulse_owner (the role that may
    delete from every schema). A request without a platform covers the member on every platform;
    requests that matched nothing are listed.
    """
    from datetime import UTC, datetime

    from pulse.maintenance.erasure import apply_erasures, require_erased
    from pulse.runtime import owner_dsn

    dsn = owner_dsn(load_settings())
    report = apply_erasures(dsn, run_id=f"cli__{datetime.now(UTC).isoformat()}")
    require_erased(dsn)
    deleted = sum(report.rows_deleted.values())
    console.print(
        f"[green]erased[/green] {report.members} member(s) ({report.requests} request(s), "
        f"{report.late_arrivals} late arrival(s)): {deleted:,} rows in "
        f"{len(report.rows_deleted)} table(s), {report.values_redacted} quoted value(s) redacted"
    )
    if report.unmatched_requests:
        console.print(
            f"[yellow]warning:[/yellow] {len(report.unmatched_requests)} request(s) matched no "
            "event of their member (wrong id, a platform never seen, or another pseudonym key): "
            + ", ".join(report.unmatched_requests),
            highlight=False,
        )
