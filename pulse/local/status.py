"""`pulse status`: services, topics, positions vs stored offsets, gaps, the key, raw counts."""

from __future__ import annotations

import psycopg
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from pulse.local.stack import LocalStack
from pulse.runtime import resolve_endpoints
from pulse.settings import Settings
from pulse.warehouse.gaps import unresolved_gaps
from streaming.privacy import key_fingerprint
from streaming.topics import pipeline_topics, topic_mismatches


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
    """Print the status tables; problems (gaps, topic mismatches, another key) in red."""
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
        mismatches = topic_mismatches(endpoints.kafka_bootstrap, pipeline_topics(settings))
    except KafkaError as error:
        out.print(f"[red]kafka unreachable[/red]: {error}")
        ends, mismatches = {}, []
    with psycopg.connect(endpoints.pg_dsn, connect_timeout=5) as conn:
        stored = {
            partition: (offset, epoch)
            for partition, offset, epoch in conn.execute(
                "select partition, next_offset, epoch from raw.consumer_offsets "
                "where consumer_group = %s and topic = %s",
                [settings.consumer_group, settings.events_topic],
            ).fetchall()
        }
        events = conn.execute("select count(*) from raw.community_events").fetchone()[0]  # type: ignore[index]
        letters = conn.execute(
            "select reason, count(*), count(*) filter (where not dlq_published) "
            "from raw.dead_letter_events group by reason order by reason"
        ).fetchall()
        batches = conn.execute(
            "select coalesce(sum(duplicates), 0) from raw.ingest_batches"
        ).fetchone()[0]  # type: ignore[index]
        gaps = unresolved_gaps(conn, settings.events_topic, settings.consumer_group)
        key = conn.execute(
            "select fingerprint from raw.pseudonym_key where retired_at is null"
        ).fetchone()

    for mismatch in mismatches:
        out.print(f"[red]topic differs from the settings[/red]: {mismatch}")
    positions = Table(title=f"{settings.events_topic} (group {settings.consumer_group})")
    for column in ("partition", "topic end", "stored offset", "epoch", "lag"):
        positions.add_column(column, justify="right")
    for partition in sorted(set(ends) | set(stored)):
        end = ends.get(partition)
        done, epoch = stored.get(partition, (None, None))
        lag = "-" if end is None else str(max(end - (done or 0), 0))
        positions.add_row(str(partition), _fmt(end), _fmt(done), _fmt(epoch), lag)
    out.print(positions)

    if gaps:
        table = Table(title="[red]unresolved ingest gaps[/red] (`pulse gaps --resolve ID`)")
        for column in ("id", "partition", "cause", "stored", "partition range", "resumed"):
            table.add_column(column)
        table.add_column("messages may be missing between")
        for gap in gaps:
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

    if key is None:
        out.print("pseudonym key: no fingerprint recorded yet (the first consumer records one)")
    elif key[0] == key_fingerprint(endpoints.pseudonym_key):
        out.print(f"pseudonym key: fingerprint {key[0][:12]}, the configured key")
    else:
        out.print(
            f"[red]pseudonym key: the warehouse's is {key[0][:12]}, the configured one is "
            f"{key_fingerprint(endpoints.pseudonym_key)[:12]}[/red]: ingest refuses to start"
        )

    counts = Table(title="raw")
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    counts.add_row("community_events", f"{events:,}")
    counts.add_row("duplicates dropped", f"{batches:,}")
    for reason, count, unpublished in letters:
        note = f" ({unpublished:,} not on the DLQ topic)" if unpublished else ""
        counts.add_row(f"dead_letter_events ({reason})", f"{count:,}{note}")
    out.print(counts)


def _state(running: bool) -> str:
    return "[green]running[/green]" if running else "[red]stopped[/red]"


def _fmt(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
