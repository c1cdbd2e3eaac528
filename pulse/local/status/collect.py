"""`collect_status`: Kafka and PostgreSQL asked side by side, each within
PULSE_STATUS_TIMEOUT_S, so a service that does not answer (stopped, frozen, unreachable) is
reported down instead of hanging the command. Every query stays cheap as raw grows (see the
package's docstring)."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from pulse.local.stack import LocalStack
from pulse.local.status.verdict import EXACT_COUNT_LIMIT, RowCount, Service, Status, Warehouse
from pulse.runtime import Endpoints, embedded_services, resolve_endpoints
from pulse.settings import Settings
from pulse.warehouse.gaps import unresolved_gaps
from streaming.privacy import key_fingerprint
from streaming.topics import pipeline_topics, topic_mismatches

# -- collecting ------------------------------------------------------------------------------------


def collect_status(settings: Settings, now: datetime | None = None) -> Status:
    """Ask Kafka and PostgreSQL (side by side, each within settings.status_timeout_s).

    Raises:
        StackNotRunning: the embedded stack should provide a service and was never set up.
        ConfigurationError: an external warehouse is configured without a pseudonym key.
    """
    endpoints = resolve_endpoints(settings)
    timeout = settings.status_timeout_s
    with _quiet_kafka_client():
        kafka = _Bounded(lambda: _ask_kafka(settings, endpoints, timeout))
        postgres = _Bounded(lambda: _ask_postgres(settings, endpoints, timeout))
        # Each call bounds its own waits; the extra second is for calls that cannot be bounded.
        kafka_answer, kafka_error = kafka.result(timeout + 1.0)
        pg_answer, pg_error = postgres.result(timeout + 1.0)

    stack = LocalStack(settings.state_dir)
    info = stack.info()
    embedded_pg, embedded_kafka = embedded_services(settings)
    services = [
        Service(
            name="postgres",
            where=_pg_where(endpoints.pg_dsn),
            embedded=embedded_pg,
            up=pg_error is None,
            error=pg_error,
            process=_process(stack.postgres_running()) if embedded_pg and info else None,
        ),
        Service(
            name="kafka",
            where=endpoints.kafka_bootstrap,
            embedded=embedded_kafka,
            up=kafka_error is None,
            error=kafka_error,
            process=_process(stack.kafka_running()) if embedded_kafka and info else None,
        ),
    ]
    ends, mismatches = kafka_answer if kafka_answer is not None else (None, [])
    return Status(
        checked_at=now or datetime.now(UTC),
        topic=settings.events_topic,
        consumer_group=settings.consumer_group,
        services=services,
        max_lag=settings.status_max_lag,
        max_raw_age_s=settings.status_max_raw_age_s,
        end_offsets=ends,
        topic_mismatches=mismatches,
        warehouse=pg_answer,
        configured_key_fingerprint=key_fingerprint(endpoints.pseudonym_key),
    )


class _Bounded:
    """Run `action` on a daemon thread; `result(timeout)` gives (value, None) or (None, error
    text), the error being "no answer within N s" when the thread is still waiting then."""

    def __init__(self, action: Callable[[], Any]) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._action = action
        self._thread = threading.Thread(target=self._run, name="pulse-status", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._action()
        except Exception as error:
            self._error = error

    def result(self, timeout_s: float) -> tuple[Any, str | None]:
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            return None, f"no answer within {timeout_s:.0f} s"
        if self._error is not None:
            return None, _one_line(self._error)
        return self._value, None


@contextmanager
def _quiet_kafka_client() -> Iterator[None]:
    """kafka-python logs its failed bootstraps as errors; status reports them itself."""
    client = logging.getLogger("kafka")
    if client.isEnabledFor(logging.DEBUG):  # -v: show everything
        yield
        return
    level = client.level
    client.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        client.setLevel(level)


def _ask_kafka(
    settings: Settings, endpoints: Endpoints, timeout_s: float
) -> tuple[dict[int, int], list[str]]:
    """(end offset per partition of the inbound topic, how the topics differ from the settings).
    End offsets are the broker's own figures (the embedded broker's may be low: runbook)."""
    from kafka import KafkaConsumer, TopicPartition

    timeout_ms = max(int(timeout_s * 1000), 1000)
    consumer = KafkaConsumer(
        bootstrap_servers=endpoints.kafka_bootstrap,
        client_id="pulse-status",
        bootstrap_timeout_ms=timeout_ms,
        request_timeout_ms=timeout_ms,
        enable_auto_commit=False,
    )
    try:
        partitions = consumer.partitions_for_topic(settings.events_topic) or set()
        tps = [TopicPartition(settings.events_topic, p) for p in sorted(partitions)]
        found = consumer.end_offsets(tps, timeout_ms=timeout_ms) if tps else {}
        ends = {tp.partition: int(offset) for tp, offset in found.items()}
    finally:
        consumer.close(autocommit=False, timeout_ms=1000)
    return ends, topic_mismatches(endpoints.kafka_bootstrap, pipeline_topics(settings))


def _ask_postgres(settings: Settings, endpoints: Endpoints, timeout_s: float) -> Warehouse:
    topic, group = settings.events_topic, settings.consumer_group
    with psycopg.connect(
        endpoints.pg_dsn, connect_timeout=max(math.ceil(timeout_s), 1), autocommit=True
    ) as conn:
        conn.execute(
            "select set_config('statement_timeout', %s, false)", [str(int(timeout_s * 1000))]
        )
        stored = {
            partition: (offset, epoch)
            for partition, offset, epoch in conn.execute(
                "select partition, next_offset, epoch from raw.consumer_offsets "
                "where consumer_group = %s and topic = %s",
                [group, topic],
            ).fetchall()
        }
        now, ingested, occurred = conn.execute(
            "select now(), (select max(ingested_at) from raw.community_events), "
            "(select max(occurred_at) from raw.community_events "
            " where occurred_at <= now() + make_interval(secs => %s))",
            [settings.future_tolerance_s],
        ).fetchone()  # type: ignore[misc]
        letters = conn.execute(
            "select reason, count(*), count(*) filter (where not dlq_published) "
            "from raw.dead_letter_events group by reason order by reason"
        ).fetchall()
        duplicates = conn.execute(
            "select coalesce(sum(duplicates), 0) from raw.ingest_batches"
        ).fetchone()[0]  # type: ignore[index]
        gaps = unresolved_gaps(conn, topic, group)
        key = conn.execute(
            "select fingerprint from raw.pseudonym_key where retired_at is null"
        ).fetchone()
        last_run, last_success = _last_runs(conn)
        return Warehouse(
            now=now,
            stored=stored,
            events=count_events(conn),
            newest_ingested_at=ingested,
            newest_occurred_at=occurred,
            duplicates=int(duplicates),
            dead_letters=[(str(r), int(n), int(u)) for r, n, u in letters],
            gaps=gaps,
            key_fingerprint=key[0] if key else None,
            last_run=last_run,
            last_success=last_success,
        )


def count_events(conn: psycopg.Connection, limit: int = EXACT_COUNT_LIMIT) -> RowCount:
    """Rows of raw.community_events without counting them all: the planner's estimate
    (reltuples per page times the pages the table has now, as the planner scales it), exact
    (a count of at most `limit` rows) while the estimate is below `limit` or missing (a table
    never analyzed has reltuples -1)."""
    reltuples, relpages, pages = conn.execute(
        "select reltuples, relpages, "
        "pg_relation_size(oid) / current_setting('block_size')::bigint "
        "from pg_class where oid = 'raw.community_events'::regclass"
    ).fetchone()  # type: ignore[misc]
    estimate = None
    if reltuples is not None and reltuples >= 0 and relpages and relpages > 0:
        estimate = round(float(reltuples) / relpages * int(pages))
    if estimate is None or estimate < limit:
        counted = conn.execute(
            "select count(*) from (select from raw.community_events limit %s) as bounded",
            [limit],
        ).fetchone()[0]  # type: ignore[index]
        if counted < limit:
            return RowCount(rows=int(counted), exact=True, method="count")
        if estimate is None:
            return RowCount(rows=limit, exact=False, method="lower bound")
        return RowCount(rows=max(estimate, limit), exact=False, method="pg_class.reltuples")
    return RowCount(rows=estimate, exact=False, method="pg_class.reltuples")


_RUN_COLUMNS = (
    "dag_id",
    "run_id",
    "attempt",
    "status",
    "interval_start",
    "interval_end",
    "started_at",
    "finished_at",
    "failed_step",
    "error",
    "promoted",
    "build_schema",
)


def _last_runs(conn: psycopg.Connection) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The latest community_metrics run, and the latest successful one (by started_at, indexed)."""
    # The consumer's own login (pulse_ingest, its healthcheck) may not look into quality at all:
    # to_regclass would raise there, so ask what the login may read first (`case` evaluates
    # each check only when the ones before it passed; `and` would not promise that order).
    readable = conn.execute(
        "select case when not has_schema_privilege(ns.oid, 'USAGE') then false "
        "when to_regclass('quality.pipeline_runs') is null then false "
        "else has_table_privilege('quality.pipeline_runs', 'SELECT') end "
        "from pg_namespace as ns where ns.nspname = 'quality'"
    ).fetchone()
    if not readable or not readable[0]:
        return None, None
    columns = ", ".join(_RUN_COLUMNS)
    found = []
    for condition in ("true", "status = 'success'"):
        row = conn.execute(
            f"select {columns} from quality.pipeline_runs where {condition} "
            "order by started_at desc limit 1"
        ).fetchone()
        found.append(dict(zip(_RUN_COLUMNS, row, strict=True)) if row else None)
    return found[0], found[1]


# -- helpers ---------------------------------------------------------------------------------------


def _pg_where(dsn: str) -> str:
    """host:port/database of a DSN, never its password."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "?"
    host = parts.get("host") or "local socket"
    return f"{host}:{parts.get('port') or 5432}/{parts.get('dbname') or '?'}"


def _process(running: bool) -> str:
    return "running" if running else "stopped"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
