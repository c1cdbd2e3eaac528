"""Traffic in: `pulse consume` (the ingest consumer) and `pulse generate`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pulse.cli.app import app, console, friendly, load_settings
from pulse.errors import PulseError


@app.command()
@friendly
def consume(
    stop_when_idle: Annotated[
        float | None,
        typer.Option(help="Exit 0 after this many seconds with nothing new.", min=0.1),
    ] = None,
) -> None:
    """Stream community.events.v1 into raw (exactly-once effect). SIGTERM flushes and exits 0.

    Creates the pipeline's topics when missing and waits (with backoff, saying so) for a broker
    or warehouse that is not there yet. Refuses to start with another pseudonym key than the
    warehouse's.
    """
    import psycopg
    from kafka.errors import KafkaError

    from pulse.runtime import ingest_config, resolve_endpoints
    from streaming.consumer import IngestConsumer
    from streaming.errors import KeyMismatchError

    settings = load_settings()
    endpoints = resolve_endpoints(settings)
    consumer = IngestConsumer(ingest_config(settings, endpoints, stop_when_idle))
    consumer.install_signal_handlers()
    try:
        report = consumer.run()
    except KeyMismatchError as error:
        raise PulseError(str(error)) from None
    except (psycopg.Error, KafkaError) as error:
        # Only reached when a stop was requested while a service was away; nothing was stored
        # for the batch in hand, so it is read again on the next start.
        raise PulseError(
            f"stopped during an outage ({error}); unstored messages will be re-read"
        ) from None
    extras = [
        f"{count:,} {what}"
        for count, what in (
            (report.dlq_unpublished, "dead letters kept in Postgres only (DLQ refused them)"),
            (report.gaps, "gaps recorded (see `pulse status`)"),
        )
        if count
    ]
    console.print(
        f"[green]consumed[/green] {report.messages:,} messages in {report.seconds:.1f} s: "
        f"{report.inserted:,} stored, {report.duplicates:,} duplicates, "
        f"{report.dead_letters:,} dead letters"
        + (f" {dict(sorted(report.dead_letters_by_reason.items()))}" if report.dead_letters else "")
        + (f"; {', '.join(extras)}" if extras else "")
    )


@app.command()
@friendly
def gaps(
    resolve: Annotated[
        int | None, typer.Option(help="Mark this gap resolved (its id, from `pulse gaps`).")
    ] = None,
    note: Annotated[
        str, typer.Option(help="What was done about it (kept with the gap).")
    ] = "resolved by an operator",
) -> None:
    """List the unresolved ingest gaps (stored offsets a partition no longer had), or resolve one.

    An unresolved gap fails the freshness check of every interval it touches; resolve it once
    the missing messages were produced again or accepted as lost (docs/runbook.md, Gaps).
    """
    import psycopg

    from pulse.runtime import warehouse_dsn
    from pulse.warehouse.gaps import resolve_gap, unresolved_gaps

    settings = load_settings()
    dsn = warehouse_dsn(settings)
    if resolve is not None:
        gap = resolve_gap(dsn, resolve, note)
        console.print(f"[green]resolved[/green] {gap.describe()}")
        return
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        found = unresolved_gaps(conn, settings.events_topic, settings.consumer_group)
    for gap in found:
        console.print(gap.describe(), highlight=False)
    console.print(f"{len(found)} unresolved gap(s) on {settings.events_topic}")


@app.command()
@friendly
def generate(
    events: Annotated[
        int, typer.Option(help="About this many valid, unique events.", min=1)
    ] = 20_000,
    days: Annotated[int, typer.Option(help="Days of activity, ending today (UTC).", min=1)] = 60,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same events.")] = 42,
    brands: Annotated[int, typer.Option(help="Number of brands.", min=1)] = 3,
    invalid_share: Annotated[
        float, typer.Option(help="Share of invalid messages mixed in.", min=0.0, max=0.5)
    ] = 0.005,
    duplicate_share: Annotated[
        float, typer.Option(help="Share of valid messages sent twice.", min=0.0, max=0.5)
    ] = 0.01,
    brownfield: Annotated[
        bool,
        typer.Option(
            "--brownfield",
            help=(
                "Real-world shape: communities that had members before the span (70% of "
                "regular members never send member.joined, some leave without one) and 5% "
                "of active members engaging heavily. The two share options below override it."
            ),
        ),
    ] = False,
    preexisting_share: Annotated[
        float | None,
        typer.Option(
            help=(
                "Share of regular members who were members before the span: no member.joined, "
                "present from the start. Default 0 (0.7 with --brownfield)."
            ),
            min=0.0,
            max=1.0,
        ),
    ] = None,
    heavy_engager_share: Annotated[
        float | None,
        typer.Option(
            help=(
                "Share of active members who engage several times with each post they engage "
                "with (several reactions, comments). Default 0 (0.05 with --brownfield)."
            ),
            min=0.0,
            max=1.0,
        ),
    ] = None,
) -> None:
    """Produce realistic micro-community traffic (seeded) to the inbound topic."""
    from pulse.local.generator import GeneratorConfig, produce
    from pulse.local.generator import generate as generate_messages
    from pulse.runtime import resolve_endpoints
    from streaming.topics import ensure_topics, pipeline_topics

    settings = load_settings()
    endpoints = resolve_endpoints(settings)
    ensure_topics(endpoints.kafka_bootstrap, pipeline_topics(settings))
    shares = {
        name: value
        for name, value in (
            ("preexisting_share", preexisting_share),
            ("heavy_engager_share", heavy_engager_share),
        )
        if value is not None
    }
    shape = GeneratorConfig.brownfield if brownfield else GeneratorConfig
    config = shape(
        seed=seed,
        events=events,
        days=days,
        brands=brands,
        invalid_share=invalid_share,
        duplicate_share=duplicate_share,
        **shares,
    )
    report = produce(
        generate_messages(config),
        endpoints.kafka_bootstrap,
        settings.events_topic,
        show_progress=sys.stderr.isatty(),
        total=int(events * (1 + duplicate_share + invalid_share)),
    )
    console.print(f"[green]produced[/green] to {settings.events_topic}: {report}")
