"""`pulse`: the one console script. Exit codes: 0 ok, 1 failure, 2 usage."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from pulse.errors import PulseError
from pulse.paths import DEFAULT_REPORT_PATH
from pulse.settings import Settings

app = typer.Typer(
    help="Community Pulse: micro-community engagement pipeline (Kafka -> Postgres -> dbt -> BI).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Warehouse administration.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console(stderr=True)
out = Console()
F = TypeVar("F", bound=Callable[..., Any])


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=False)],
    )
    # kafka-python is chatty about reconnects we already retry and report ourselves.
    logging.getLogger("kafka").setLevel(logging.ERROR if not verbose else logging.INFO)


def _is_unreachable(error: BaseException) -> bool:
    import psycopg
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError

    return isinstance(
        error,
        ConnectionError | psycopg.OperationalError | KafkaConnectionError | KafkaTimeoutError,
    )


def _friendly(func: F) -> F:
    """Turn the project's own errors (and unreachable services) into one line and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PulseError as error:
            console.print(f"[red]error:[/red] {' '.join(str(error).split())}", highlight=False)
            raise typer.Exit(1) from None
        except Exception as error:
            # Unreachable services surface as driver errors; name them in one line, no traceback.
            if not _is_unreachable(error):
                raise
            first = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            console.print(f"[red]error:[/red] a service is unreachable ({first}); is it running?")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Community Pulse command line. Configuration comes from PULSE_* environment variables."""
    _configure_logging(verbose)


def _settings() -> Settings:
    return Settings()


# -- local stack -------------------------------------------------------------------------------


@app.command()
@_friendly
def up() -> None:
    """Start the embedded PostgreSQL and Kafka broker, create topics, print PULSE_* exports.

    Services configured through PULSE_KAFKA_BOOTSTRAP / PULSE_PG_DSN are used as they are: with
    both set, this only creates the topics (what docker-compose's topics-init does).
    """
    from pulse.local.stack import LocalStack
    from pulse.runtime import resolve_endpoints
    from streaming.topics import ensure_topics, pipeline_topics

    settings = _settings()
    stack = LocalStack(settings.state_dir)
    embedded_pg, embedded_kafka = settings.pg_dsn is None, settings.kafka_bootstrap is None
    if embedded_pg or embedded_kafka:
        with console.status("starting the embedded services..."):
            stack.up(postgres=embedded_pg, kafka=embedded_kafka)
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
@_friendly
def down(
    purge: Annotated[bool, typer.Option(help="Also delete the state folder (all data).")] = False,
) -> None:
    """Stop the embedded services (and with --purge, delete their data)."""
    from pulse.local.stack import LocalStack

    stack = LocalStack(_settings().state_dir)
    stack.down(purge=purge)
    console.print("[green]down[/green]" + (" (state folder removed)" if purge else ""))


@app.command()
@_friendly
def status() -> None:
    """Show services, per-partition topic end vs stored offsets, and raw row counts."""
    from pulse.local.status import render_status

    render_status(_settings(), out)


# -- warehouse ---------------------------------------------------------------------------------


@db_app.command("init")
@_friendly
def db_init() -> None:
    """Create schemas, raw tables and roles (idempotent). Role passwords: PULSE_*_PASSWORD."""
    import os

    from pulse.runtime import resolve_endpoints
    from pulse.warehouse.init import ROLES, init_warehouse

    endpoints = resolve_endpoints(_settings())
    passwords = {
        role: os.environ[f"PULSE_{role.removeprefix('pulse_').upper()}_PASSWORD"]
        for role in ROLES
        if os.environ.get(f"PULSE_{role.removeprefix('pulse_').upper()}_PASSWORD")
    }
    init_warehouse(endpoints.pg_dsn, passwords)
    console.print(
        "[green]warehouse ready[/green]: schemas raw, quality, marts; roles " + ", ".join(ROLES)
    )


# -- ingest ------------------------------------------------------------------------------------


@app.command()
@_friendly
def consume(
    stop_when_idle: Annotated[
        float | None,
        typer.Option(help="Exit 0 after this many seconds with nothing new.", min=0.1),
    ] = None,
) -> None:
    """Stream community.events.v1 into raw (exactly-once effect). SIGTERM flushes and exits 0."""
    import psycopg
    from kafka.errors import KafkaError

    from pulse.runtime import resolve_endpoints
    from streaming.consumer import IngestConsumer
    from streaming.topics import ensure_topics, pipeline_topics

    settings = _settings()
    endpoints = resolve_endpoints(settings)
    ensure_topics(endpoints.kafka_bootstrap, pipeline_topics(settings))
    consumer = IngestConsumer(ingest_config(settings, endpoints, stop_when_idle))
    consumer.install_signal_handlers()
    try:
        report = consumer.run()
    except (psycopg.Error, KafkaError) as error:
        # Only reached when a stop was requested while a service was away; nothing was stored
        # for the batch in hand, so it is read again on the next start.
        raise PulseError(
            f"stopped during an outage ({error}); unstored messages will be re-read"
        ) from None
    console.print(
        f"[green]consumed[/green] {report.messages:,} messages in {report.seconds:.1f} s: "
        f"{report.inserted:,} stored, {report.duplicates:,} duplicates, "
        f"{report.dead_letters:,} dead letters"
        + (f" {dict(sorted(report.dead_letters_by_reason.items()))}" if report.dead_letters else "")
    )


def ingest_config(settings: Settings, endpoints: Any, stop_when_idle: float | None) -> Any:
    from streaming.consumer import IngestConfig

    return IngestConfig(
        bootstrap=endpoints.kafka_bootstrap,
        pg_dsn=endpoints.pg_dsn,
        pseudonym_key=endpoints.pseudonym_key,
        topic=settings.events_topic,
        dlq_topic=settings.dlq_topic,
        group=settings.consumer_group,
        batch_max_events=settings.batch_max_events,
        batch_max_age_s=settings.batch_max_age_ms / 1000,
        future_tolerance_s=settings.future_tolerance_s,
        stop_when_idle_s=stop_when_idle,
    )


@app.command()
@_friendly
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

    settings = _settings()
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


@app.command()
@_friendly
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
        output = run_transform(_settings(), full_refresh=full_refresh)
    summary = next(
        (line.strip() for line in reversed(output.splitlines()) if "PASS=" in line), "done"
    )
    console.print(f"[green]dbt build[/green] in {time.monotonic() - started:.0f} s: {summary}")


# -- quality gates -----------------------------------------------------------------------------


@app.command()
@_friendly
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

    from pulse.quality.gates import GateSettings, default_interval, run_marts_gate, run_raw_gate
    from pulse.runtime import warehouse_dsn

    if layer not in ("raw", "marts"):
        raise typer.BadParameter("must be raw or marts", param_hint="--layer")
    settings = _settings()
    gates = GateSettings.from_settings(settings)
    dsn = warehouse_dsn(settings)
    run_id = run_id or f"manual__{datetime.now(UTC):%Y-%m-%dT%H:%M:%S%z}"
    with console.status(f"running the {layer} gate..."):
        if layer == "raw":
            start, end = default_interval()
            if interval_start is not None:
                start = _moment(interval_start, "--interval-start")
                end = start + timedelta(days=1)
            if interval_end is not None:
                end = _moment(interval_end, "--interval-end")
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
@_friendly
def promote(
    build_schema: Annotated[str, typer.Option(help="The validated build schema to show in marts.")],
    run_id: Annotated[str | None, typer.Option(help="Run id recorded with the promotion.")] = None,
) -> None:
    """Switch the BI views (schema marts) to a build whose marts gate passed, atomically."""
    from datetime import UTC, datetime

    from pulse.publishing.promote import promote as promote_build
    from pulse.runtime import warehouse_dsn

    settings = _settings()
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


# -- orchestration -----------------------------------------------------------------------------


def _moment(value: str | None, option: str) -> Any:
    """An ISO 8601 timestamp; without an offset it is UTC (pulse.timestamps)."""
    if value is None:
        return None
    from pulse.timestamps import parse_moment

    try:
        return parse_moment(value, option)
    except PulseError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None


def _print_run(summary: Any) -> None:
    from rich.table import Table

    from pulse.orchestration.pipeline import STEPS

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
@_friendly
def run(
    interval_start: Annotated[
        str | None,
        typer.Option(help="Start of the data interval, ISO 8601 (UTC if no offset)."),
    ] = None,
    interval_end: Annotated[
        str | None,
        typer.Option(help="End (exclusive) of the data interval; default: the last full hour."),
    ] = None,
) -> None:
    """Run the community_metrics DAG once through Airflow's dag.test() (no scheduler needed).

    Freshness, raw gate, dbt build, marts gate, promote, publish, record; Airflow's database is
    kept in the state folder unless AIRFLOW_HOME is set. Re-running an interval is safe. An
    interval that ends in the future is refused. Ctrl-C or SIGTERM stops the run within seconds
    (exit 130 or 143) and records it as failed ("interrupted").
    """
    from pulse.orchestration.pipeline import RunFailed, RunInterrupted, run_once

    start = _moment(interval_start, "--interval-start")
    end = _moment(interval_end, "--interval-end")
    if (start is None) != (end is None):
        raise typer.BadParameter("give both --interval-start and --interval-end, or neither")
    try:
        summary = run_once(_settings(), start, end)
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


@app.command()
@_friendly
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
    settings = _settings()
    endpoints = resolve_endpoints(settings)
    report = replay_dead_letters(
        endpoints.pg_dsn,
        endpoints.kafka_bootstrap,
        endpoints.pseudonym_key,
        run_id=f"cli__{datetime.now(UTC).isoformat()}",
        events_topic=settings.events_topic,
        dlq_topic=settings.dlq_topic,
        reasons=[reason] if reason else None,
        received_from=_moment(received_from, "--received-from"),
        received_until=_moment(received_until, "--received-until"),
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
@_friendly
def erase() -> None:
    """Apply member.erased requests to every table now, then check none of their rows is left.

    The same as the member_erasure DAG, without Airflow. Needs the warehouse owner's DSN.
    """
    from datetime import UTC, datetime

    from pulse.maintenance.erasure import apply_erasures, require_erased
    from pulse.runtime import warehouse_dsn

    dsn = warehouse_dsn(_settings())
    report = apply_erasures(dsn, run_id=f"cli__{datetime.now(UTC).isoformat()}")
    require_erased(dsn)
    deleted = sum(report.rows_deleted.values())
    console.print(
        f"[green]erased[/green] {report.members} member(s) ({report.requests} request(s), "
        f"{report.late_arrivals} late arrival(s)): {deleted:,} rows in "
        f"{len(report.rows_deleted)} table(s), {report.values_redacted} quoted value(s) redacted"
    )


@app.command()
@_friendly
def demo(
    events: Annotated[int, typer.Option(help="About this many valid events.", min=1000)] = 200_000,
    days: Annotated[int, typer.Option(help="Days of activity, ending today (UTC).", min=7)] = 60,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 42,
) -> None:
    """Run the whole pipeline on the embedded services and print a summary (`make demo`)."""
    from pulse.local.demo import render, run_demo

    summary = run_demo(_settings(), console, events=events, days=days, seed=seed)
    render(summary, out)


@app.command()
@_friendly
def report(
    out_path: Annotated[
        str, typer.Option("--out", "-o", help="Where to write the HTML page (folders are made).")
    ] = str(DEFAULT_REPORT_PATH),
) -> None:
    """Write a self-contained HTML report with charts of what BI sees (marts, read as pulse_bi)."""
    from pathlib import Path

    from pulse.report.html import build_report
    from pulse.runtime import warehouse_dsn

    settings = _settings()
    with console.status("building the report..."):
        summary = build_report(warehouse_dsn(settings), Path(out_path), settings=settings)
    console.print(f"[green]report[/green]: {summary.describe()}")
    if summary.empty_charts:
        console.print(
            "[yellow]warning:[/yellow] no data yet for " + ", ".join(summary.empty_charts)
        )
    out.print(str(summary.path), highlight=False)


@app.command()
@_friendly
def schemas(
    write: Annotated[bool, typer.Option(help="Rewrite the committed schema files.")] = False,
) -> None:
    """Check (or --write) the committed JSON Schemas of every topic against the models."""
    from streaming.schemas import expected_files, write_schemas

    if write:
        changed = write_schemas()
        console.print(f"[green]schemas[/green]: {len(changed)} file(s) rewritten")
        return
    stale = [
        p.name for p, text in expected_files().items() if not p.exists() or p.read_text() != text
    ]
    if stale:
        raise PulseError(f"schemas out of date: {', '.join(stale)}; run `pulse schemas --write`")
    console.print("[green]schemas up to date[/green]")


@app.command()
@_friendly
def docs(
    write: Annotated[bool, typer.Option(help="Rewrite the generated block of README.md.")] = False,
) -> None:
    """Check (or --write) README.md's configuration reference against the settings class."""
    from pathlib import Path

    from pulse.docs import render_readme, write_readme

    readme = Path("README.md")
    if not readme.exists():
        raise PulseError("README.md not found: run this from the repository root")
    if write:
        changed = write_readme(readme)
        console.print("[green]README.md[/green] " + ("updated" if changed else "already current"))
    elif render_readme(readme.read_text()) != readme.read_text():
        raise PulseError("README.md's configuration reference is stale: run `pulse docs --write`")
    else:
        console.print("[green]README.md configuration reference is current[/green]")


if __name__ == "__main__":  # pragma: no cover
    app()
