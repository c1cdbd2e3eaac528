"""The embedded stack: `pulse up`, `pulse down`, `pulse status`."""

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
def status() -> None:
    """Show services, per-partition topic end vs stored offsets, and raw row counts."""
    from pulse.local.status import render_status

    render_status(load_settings(), out)
