"""The embedded stack: `pulse up`, `pulse down`, `pulse status` (tables, --json, --check)."""

from __future__ import annotations

from typing import Annotated

import typer

from pulse.cli.app import app, console, friendly, load_settings, out


@app.command()
@friendly
def up() -> None:
    """Start the embedded PostgreSQL and Kafka broker, create topics, print PULSE_* exports.

    Services configured through PULSE_KAFKA_BOOTSTRAP / PULSE_PG_DSN are used as they are: with
    both set, this only creates the topics (what docker-compose's topics-init does).
    """
    from pulse.local.stack import LocalStack
    from pulse.runtime import embedded_services, resolve_endpoints
    from streaming.topics import ensure_topics, pipeline_topics

    settings = load_settings()
    stack = LocalStack(settings.state_dir)
    embedded_pg, embedded_kafka = embedded_services(settings)
    if embedded_pg or embedded_kafka:
        with console.status("starting the embedded services..."):
            stack.up(
                postgres=embedded_pg,
                kafka=embedded_kafka,
                pg_port=settings.embedded_pg_port,
                kafka_port=settings.embedded_kafka_port,
            )
    endpoints = resolve_endpoints(settings)
    created = ensure_topics(endpoints.kafka_bootstrap, pipeline_topics(settings))
    console.print(
        f"[green]up[/green]: Kafka on {endpoints.kafka_bootstrap}"
        + (f"; created topics {', '.join(created)}" if created else "; topics exist")
    )
    if embedded_kafka:
        out.print(f"export PULSE_KAFKA_BOOTSTRAP={endpoints.kafka_bootstrap}", highlight=False)
    if embedded_pg:
        out.print(f"export PULSE_PG_DSN={endpoints.pg_dsn}", highlight=False)
        out.print(f"export PULSE_STATE_DIR={stack.state_dir}", highlight=False)


@app.command()
@friendly
def down(
    purge: Annotated[bool, typer.Option(help="Also delete the state folder (all data).")] = False,
) -> None:
    """Stop the embedded services (and with --purge, delete their data)."""
    from pulse.local.stack import LocalStack

    stack = LocalStack(load_settings().state_dir)
    stack.down(purge=purge)
    console.print("[green]down[/green]" + (" (state folder removed)" if purge else ""))


@app.command()
@friendly
def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (stdout) instead of tables.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help=(
                "Exit non-zero when a check fails: 1 a service is down, 3 ingest lag over "
                "PULSE_STATUS_MAX_LAG, 4 raw stale (older than PULSE_STATUS_MAX_RAW_AGE_S while "
                "messages wait); the lowest code wins."
            ),
        ),
    ] = False,
) -> None:
    """Show services, per-partition topic end vs stored offsets and lag, raw freshness, gaps,
    the key, raw row counts (estimated when large) and the last run.

    Exit codes: 0 ok, 1 Kafka or PostgreSQL down (or no stack set up), 2 usage;
    with --check also 3 (lag over PULSE_STATUS_MAX_LAG) and 4 (raw stale).
    """
    import json

    from pulse.local.status import collect_status, render

    report = collect_status(load_settings())
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        render(report, out)
    code = report.exit_code(check=check)
    if code:
        for problem in report.problems():
            if check or problem.code == code:
                console.print(
                    f"[red]error:[/red] {problem.message} (check {problem.check}, code "
                    f"{problem.code})",
                    highlight=False,
                )
        raise typer.Exit(code)
