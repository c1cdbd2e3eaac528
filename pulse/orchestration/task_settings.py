"""The settings of an Airflow task: PULSE_* variables, with the Airflow connections applied.

When the connections `pulse_warehouse` (a Postgres connection) and `pulse_kafka` (host:port, or
`bootstrap_servers` in its extra) are defined, they win over PULSE_PG_DSN and
PULSE_KAFKA_BOOTSTRAP: operators manage secrets where Airflow keeps them.
"""

from __future__ import annotations

from typing import Any, Protocol

from psycopg.conninfo import make_conninfo

from pulse.settings import Settings


class ConnectionLike(Protocol):
    """The fields of an Airflow connection that are read here."""

    host: str | None
    port: int | None
    login: str | None
    password: str | None
    schema: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


def task_settings(
    warehouse: ConnectionLike | None = None, kafka: ConnectionLike | None = None
) -> Settings:
    """`Settings()` from the environment, overridden by the connections that are defined."""
    overrides: dict[str, Any] = {}
    if warehouse is not None:
        extra = {k: str(v) for k, v in (warehouse.extra_dejson or {}).items()}
        overrides["pg_dsn"] = make_conninfo(
            "",
            host=warehouse.host or None,
            port=str(warehouse.port) if warehouse.port else None,
            user=warehouse.login or None,
            password=warehouse.password or None,
            dbname=warehouse.schema or None,
            **extra,
        )
    if kafka is not None:
        servers = (kafka.extra_dejson or {}).get("bootstrap_servers")
        overrides["kafka_bootstrap"] = servers or f"{kafka.host}:{kafka.port or 9092}"
    return Settings(**overrides)
