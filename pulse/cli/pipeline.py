"""The pipeline by hand: `pulse transform`, `validate`, `promote`, `run`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pulse.cli.app import app, console, friendly, load_settings, option_moment, out


@app.command()
@friendly
def transform(
    full_refresh: Annotated[
        bool, typer.Option(help="Rebuild incremental models from scratch.")
    ] = False,
) -> None:
    """Run `dbt build` (models, data tests, unit tests) on the configured or embedded warehouse."""
    import time

    from pulse.orchestration.dbt import transform as run_transform

    started = time.monotonic()
    with console.status("dbt build..."):
        output = run_transform(load_settings(), full_refresh=full_refresh)
    summary = next(
        (line.strip() for line in reversed(output.splitlines()) if "PASS=" in line), "done"
    )
    console.print(f"[green]dbt build[/green] in {time.monotonic() - started:.0f} s: {summary}")


@app.command()
@friendly
def validate(
    layer: Annotated[str, typer.Option(help="Which gate: raw or marts.")],
    run_id: Annotated[
        str | None, typer.Option(help="Run id to file the results under (default manual__<now>).")
    ] = None,
    interval_start: Annotated[
        str | None,
        typer.Option(help="raw: interval start, ISO 8601, UTC if no offset (default yesterday)."),
    ] = None,
    interval_end: Annotated[
        str | None, typer.Option(help="raw: interval end, exclusive (default start + 1 day).")
    ] = None,
    build_schema: Annotated[
        str, typer.Option(help="marts: the build schema to validate (dbt var marts_schema).")
    ] = "analytics",
) -> None:
    """Run a quality gate (Great Expectations); exit 1 with a summary of what failed."""
    from datetime import UTC, datetime, timedelta

    from pulse.quality import GateSettings, default_interval, run_marts_gate, run_raw_gate
    from pulse.runtime import warehouse_dsn

    if layer not in ("raw", "marts"):
        raise typer.BadParameter("must be raw or marts", param_hint="--layer")
    settings = load_settings()
    gates = GateSettings.from_settings(settings)
    dsn = warehouse_dsn(settings)
    run_id = run_id or f"manual__{datetime.now(UTC):%Y-%m-%dT%H:%M:%S%z}"
    with console.status(f"running the {layer} gate..."):
        if layer == "raw":
            start, end = default_interval()
            if interval_start is not None:
                start = option_moment(interval_start, "--interval-start")
                end = start + timedelta(days=1)
            if interval_end is not None:
                end = option_moment(interval_end, "--interval-end")
            result = run_raw_gate(
                dsn, run_id=run_id, interval_start=start, interval_end=end, gate_settings=gates
            )
        else:
            result = run_marts_gate(
                dsn, run_id=run_id, build_schema=build_schema, gate_settings=gates
            )
    style = "green" if result.success else "red"
    lines = result.summary_lines()
    console.print(f"[{style}]{lines[0]}[/{style}]", highlight=False)
    for line in lines[1:]:
        console.print(line, markup=False, highlight=False)
    if not result.success:
        raise typer.Exit(1)


@app.command()
@friendly
def promote(
    build_schema: Annotated[str, typer.Option(help="The validated build schema to show in marts.")],
    run_id: Annotated[str | None, typer.Option(help="Run id recorded with the promotion.")] = None,
) -> None:
    """Switch the BI views (schema marts) to a build whose marts gate passed, atomically."""
    from datetime import UTC, datetime

    from pulse.publishing.promote import promote as promote_build
    from pulse.runtime import warehouse_dsn

    settings = load_settings()
    promotion = promote_build(
        warehouse_dsn(settings),
        run_id=run_id or f"manual__{datetime.now(UTC):%Y-%m-%dT%H:%M:%S%z}",
        build_schema=build_schema,
        keep_builds=settings.keep_builds,
    )
    console.print(
        f"[green]promoted[/green]: marts now shows {promotion.build_schema}"
        + (f" (was {promotion.previous_build_schema})" if promotion.previous_build_schema else "")
        + (f"; dropped {', '.join(promotion.retired_builds)}" if promotion.retired_builds else ""),
        highlight=False,
    )


def _print_run(summary: Any) -> None:
    from rich.table import Table

    from pulse.orchestration import STEPS

    table = Table(title=f"{summary.run_id} (attempt {summary.attempt})")
    table.add_column("step")
    table.add_column("work s", justify="right")
    table.add_column("task s", justify="right")
    for step in ("start_run", *STEPS, "record_run"):
        work, task = summary.step_seconds.get(step), summary.task_seconds.get(step)
        table.add_row(
            step,
            "-" if work is None else f"{work:.1f}",
            "-" if task is None else f"{task:.1f}",
        )
    out.print(table)


@app.command()
@friendly
def run(
    interval_start: Annotated[
        str | None,
        typer.Option(help="Start of the data interval, ISO 8601 (UTC if no offset)."),
    ] = None,
    interval_end: Annotated[
        str | None,
        typer.Option(help="End (exclusive) of the data interval; default: the last full hour."),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            help="Instead of the bounds: the last N whole UTC days (ending at today's midnight).",
            min=1,
        ),
    ] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            help="Rebuild every table from all of raw instead of processing what arrived since "
            "the last validated build."
        ),
    ] = False,
) -> None:
    """Run the community_metrics DAG once through Airflow's dag.test() (no scheduler needed).

    Freshness, raw gate, dbt build, marts gate, promote, publish, record; incremental (what
    arrived since the last validated build) unless --full-refresh. Airflow's database is
    kept in the state folder unless AIRFLOW_HOME is set. Re-running an interval is safe. An
    interval that ends in the future is refused. Ctrl-C or SIGTERM stops the run within seconds
    (exit 130 or 143) and records it as failed ("interrupted").
    """
    from pulse.orchestration import RunFailed, RunInterrupted, run_once

    start = option_moment(interval_start, "--interval-start")
    end = option_moment(interval_end, "--interval-end")
    if days is not None:
        if start is not None or end is not None:
            raise typer.BadParameter("give --days or the interval bounds, not both")
        from datetime import UTC, datetime, timedelta

        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = end - timedelta(days=days)
    if (start is None) != (end is None):
        raise typer.BadParameter("give both --interval-start and --interval-end, or neither")
    try:
        summary = run_once(load_settings(), start, end, full_refresh=full_refresh)
    except RunFailed as failed:
        _print_run(failed.summary)
        raise
    except RunInterrupted as interrupted:
        from rich.markup import escape

        console.print(
            f"[yellow]interrupted[/yellow]: {escape(str(interrupted))}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(interrupted.exit_code) from None
    _print_run(summary)
    console.print(f"[green]run succeeded[/green]: {summary.headline()}")
