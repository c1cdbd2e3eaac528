"""`pulse status`: services, topic positions vs stored offsets, raw row counts."""

from __future__ import annotations

import psycopg
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from pulse.local.stack import LocalStack
from pulse.runtime import resolve_endpoints
from pulse.settings import Settings


def topic_end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Latest offset per partition as the broker reports it (an estimate on Tansu)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="pulse-status")
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def render_status(settings: Settings, out: Console) -> None:
    stack = LocalStack(settings.state_dir)
    services = Table(title="services")
    services.add_column("service")
    services.add_column("where")
    services.add_column("state")
    info = stack.info()
    if settings.pg_dsn is None:
        where = f"127.0.0.1:{info.pg_port}" if info else "-"
        services.add_row("postgres (embedded)", where, _state(stack.postgres_running()))
    if settings.kafka_bootstrap is None:
        where = info.kafka_bootstrap if info else "-"
        services.add_row("kafka (embedded tansu)", where, _state(stack.kafka_running()))
    out.print(services)

    endpoints = resolve_endpoints(settings)
    try:
        ends = topic_end_offsets(endpoints.kafka_bootstrap, settings.events_topic)
    except KafkaError as error:
        out.print(f"[red]kafka unreachable[/red]: {error}")
        ends = {}
    with psycopg.connect(endpoints.pg_dsn, connect_timeout=5) as conn:
        stored = dict(
            conn.execute(
                "select partition, next_offset from raw.consumer_offsets "
                "where consumer_group = %s and topic = %s",
                [settings.consumer_group, settings.events_topic],
            ).fetchall()
        )
        events = conn.execute("select count(*) from raw.community_events").fetchone()[0]  # type: ignore[index]
        letters = conn.execute(
            "select reason, count(*) from raw.dead_letter_events group by reason order by reason"
        ).fetchall()
        batches = conn.execute(
            "select coalesce(sum(duplicates), 0) from raw.ingest_batches"
        ).fetchone()[0]  # type: ignore[index]

    positions = Table(title=f"{settings.events_topic} (group {settings.consumer_group})")
    for column in ("partition", "topic end", "stored offset", "lag"):
        positions.add_column(column, justify="right")
    for partition in sorted(set(ends) | set(stored)):
        end, done = ends.get(partition), stored.get(partition)
        lag = "-" if end is None else str(max(end - (done or 0), 0))
        positions.add_row(str(partition), _fmt(end), _fmt(done), lag)
    out.print(positions)

    counts = Table(title="raw")
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    counts.add_row("community_events", f"{events:,}")
    counts.add_row("duplicates dropped", f"{batches:,}")
    for reason, count in letters:
        counts.add_row(f"dead_letter_events ({reason})", f"{count:,}")
    out.print(counts)


def _state(running: bool) -> str:
    return "[green]running[/green]" if running else "[red]stopped[/red]"


def _fmt(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
