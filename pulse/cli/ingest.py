"""Traffic in: `pulse consume` (the ingest consumer) and `pulse generate`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Annotated

import typer

from pulse.cli.app import app, console, friendly, load_settings
from pulse.errors import PulseError
from pulse.settings import Settings


@app.command()
@friendly
def consume(
    stop_when_idle: Annotated[
        float | None,
        typer.Option(help="Exit 0 after this many seconds with nothing new.", min=0.1),
    ] = None,
    processes: Annotated[
        int,
        typer.Option(
            help=(
                "Consumer processes to run, each a full consumer of the group with partitions "
                "of its own (more cores; on more machines, run `pulse consume` on each)."
            ),
            min=1,
        ),
    ] = 1,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help=(
                "Serve Prometheus metrics on this port (default: PULSE_METRICS_PORT; unset: "
                "none). With --processes N, process i uses this port + i."
            ),
            min=1,
            max=65535,
        ),
    ] = None,
) -> None:
    """Stream community.events.v1 into raw (exactly-once effect). SIGTERM flushes and exits 0.

    Creates the pipeline's topics when missing and waits (with backoff, saying so) for a broker
    or warehouse that is not there yet. Refuses to start with another pseudonym key than the
    warehouse's.
    """
    settings = load_settings()
    port = metrics_port if metrics_port is not None else settings.metrics_port
    if processes > 1:
        _supervise(processes, stop_when_idle, port)
        return
    _consume_here(settings, stop_when_idle, port)


def _consume_here(settings: Settings, stop_when_idle: float | None, port: int | None) -> None:
    import psycopg
    from kafka.errors import KafkaError

    from pulse.runtime import ingest_config, resolve_endpoints
    from streaming.consumer import IngestConsumer
    from streaming.errors import KeyMismatchError, MetricsEndpointError

    endpoints = resolve_endpoints(settings)
    config = ingest_config(settings, endpoints, stop_when_idle, metrics_port=port)
    consumer = IngestConsumer(config)
    consumer.install_signal_handlers()
    try:
        report = consumer.run()
    except (KeyMismatchError, MetricsEndpointError) as error:
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


def _supervise(processes: int, stop_when_idle: float | None, port: int | None) -> None:
    """Run `processes` consumers of the group as child processes (`pulse consume` each) and
    wait for them.

    Kafka spreads the partitions over them and each commits its own batches (fenced, like any
    consumer), so this is the same as starting that many `pulse consume` by hand. SIGTERM and
    SIGINT are passed on; when one child fails the others are stopped too and the failure is
    this command's, so whatever restarts it restarts them all.
    """
    command = [sys.executable, "-m", "pulse.cli", "consume", "--processes", "1"]
    if stop_when_idle is not None:
        command += ["--stop-when-idle", str(stop_when_idle)]
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(signum: int, _frame: object = None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for i in range(processes):
            ports = [] if port is None else ["--metrics-port", str(port + i)]
            children.append(subprocess.Popen([*command, *ports]))
        failed = None
        while any(child.poll() is None for child in children):
            for child in children:
                code = child.poll()
                if code not in (None, 0) and failed is None:
                    failed = code
                    if not stopping:
                        stop(signal.SIGTERM)
            time.sleep(0.2)
        codes = [child.returncode for child in children]
        failed = failed or next((code for code in codes if code != 0), None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed is not None:
        console.print(f"[red]error:[/red] a consumer process exited with {failed}; stopped all")
        raise typer.Exit(1 if failed < 0 else failed)
    console.print(f"[green]{processes} consumer processes[/green] exited 0")


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
    plant_incidents: Annotated[
        bool,
        typer.Option(
            "--plant-incidents",
            help=(
                "Plant incidents with known windows (a sentiment crisis, an engagement "
                "collapse, a brand overposting spell, late-answered ideas, a tiny control "
                "community) to score the incident rule on; needs --days >= 30."
            ),
        ),
    ] = False,
) -> None:
    """Produce realistic micro-community traffic (seeded) to the inbound topic."""
    from pulse.local.generator import GeneratorConfig, produce
    from pulse.local.generator import generate as generate_messages
    from pulse.local.generator.config import PLANT_MIN_DAYS
    from pulse.runtime import resolve_endpoints
    from streaming.topics import ensure_topics, pipeline_topics

    if plant_incidents and days < PLANT_MIN_DAYS:
        raise typer.BadParameter(
            f"planting incidents needs --days >= {PLANT_MIN_DAYS}", param_hint="--days"
        )
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
        plant_incidents=plant_incidents,
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
