"""Where the services are: the environment's, or else the embedded stack's."""

from __future__ import annotations

from dataclasses import dataclass

from pulse.errors import ConfigurationError
from pulse.local.stack import LocalStack
from pulse.settings import Settings
from streaming.consumer import IngestConfig
from streaming.topics import pipeline_topics


@dataclass(frozen=True)
class Endpoints:
    """Resolved connection details. `pseudonym_key` is secret: never log this object."""

    kafka_bootstrap: str
    pg_dsn: str
    pseudonym_key: str

    def __repr__(self) -> str:
        return f"Endpoints(kafka_bootstrap={self.kafka_bootstrap!r}, pg_dsn=***, key=***)"


def embedded_services(settings: Settings) -> tuple[bool, bool]:
    """(warehouse, broker): whether each is the embedded stack's.

    Unset means embedded; so does a value equal to the embedded stack's own address, which is
    what `eval "$(pulse up)"` exports: the shell that ran it keeps working with the stack's key,
    and `pulse up` after `pulse down` starts the services again.
    """
    info = LocalStack(settings.state_dir).info()
    pg = settings.pg_dsn is None or (
        info is not None and settings.pg_dsn.get_secret_value() == info.pg_dsn
    )
    kafka = settings.kafka_bootstrap is None or (
        info is not None and settings.kafka_bootstrap == info.kafka_bootstrap
    )
    return pg, kafka


def warehouse_dsn(settings: Settings) -> str:
    """PULSE_PG_DSN, else the embedded stack's (no pseudonym key needed: the one resolver every
    command that only reads or builds the warehouse uses)."""
    if settings.pg_dsn is not None:
        return settings.pg_dsn.get_secret_value()
    return LocalStack(settings.state_dir).require_info().pg_dsn


def owner_dsn(settings: Settings) -> str:
    """PULSE_OWNER_PG_DSN (the login that promotes and erases), else warehouse_dsn's."""
    if settings.owner_pg_dsn is not None:
        return settings.owner_pg_dsn.get_secret_value()
    return warehouse_dsn(settings)


def kafka_bootstrap(settings: Settings) -> str:
    """PULSE_KAFKA_BOOTSTRAP, else the embedded broker's."""
    if settings.kafka_bootstrap is not None:
        return settings.kafka_bootstrap
    return LocalStack(settings.state_dir).require_info().kafka_bootstrap


def resolve_endpoints(settings: Settings) -> Endpoints:
    """Environment first; whatever it leaves unset comes from the embedded stack.

    Raises:
        StackNotRunning: a value must come from the embedded stack and it was never started.
        ConfigurationError: an external warehouse is configured without a pseudonym key.
    """
    stack = LocalStack(settings.state_dir)
    kafka = kafka_bootstrap(settings)
    dsn = warehouse_dsn(settings)
    embedded_pg, _ = embedded_services(settings)
    if settings.pseudonym_key is not None:
        key = settings.pseudonym_key.get_secret_value()
    elif embedded_pg:
        key = stack.pseudonym_key()
    else:
        raise ConfigurationError(
            "PULSE_PSEUDONYM_KEY must be set when PULSE_PG_DSN points at an external warehouse"
        )
    if not key:
        raise ConfigurationError("PULSE_PSEUDONYM_KEY is empty")
    return Endpoints(kafka_bootstrap=kafka, pg_dsn=dsn, pseudonym_key=key)


def ingest_config(
    settings: Settings,
    endpoints: Endpoints,
    stop_when_idle_s: float | None = None,
    metrics_port: int | None = None,
) -> IngestConfig:
    """The ingest consumer's configuration: the settings' topics (created or checked when it
    starts), batching and timeouts, the metrics endpoint (`metrics_port`, else the settings'),
    the endpoints' services and key."""
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
        stop_when_idle_s=stop_when_idle_s,
        dlq_max_message_bytes=settings.dlq_max_message_bytes,
        dlq_publish_timeout_s=settings.dlq_publish_timeout_s,
        statement_timeout_ms=settings.ingest_statement_timeout_ms,
        lock_timeout_ms=settings.ingest_lock_timeout_ms,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        topics=pipeline_topics(settings),
        metrics_port=metrics_port if metrics_port is not None else settings.metrics_port,
        metrics_host=settings.metrics_host,
    )
