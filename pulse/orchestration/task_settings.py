"""The settings of an Airflow task: PULSE_* variables, with the Airflow connections applied.

When the connections `pulse_warehouse` (a Postgres connection), `pulse_warehouse_owner` (the
login that promotes and erases) and `pulse_kafka` (host:port, or `bootstrap_servers` in its
extra) are defined, they win over PULSE_PG_DSN, PULSE_OWNER_PG_DSN and PULSE_KAFKA_BOOTSTRAP:
operators manage secrets where Airflow keeps them.
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
    warehouse: ConnectionLike | None = None,
    kafka: ConnectionLike | None = None,
    warehouse_owner: ConnectionLike | None = None,
) -> Settings:
    """`Settings()` from the environment, overridden by the connections that are defined."""
    overrides: dict[str, Any] = {}
    if warehouse is not None:
        overrides["pg_dsn"] = _conninfo(warehouse)
    if warehouse_owner is not None:
        overrides["owner_pg_dsn"] = _conninfo(warehouse_owner)
    if kafka is not None:
        servers = (kafka.extra_dejson or {}).get("bootstrap_servers")
        overrides["kafka_bootstrap"] = servers or f"{kafka.host}:{kafka.port or 9092}"
    return Settings(**overrides)


def _conninfo(connection: ConnectionLike) -> str:
    extra = {k: str(v) for k, v in (connection.extra_dejson or {}).items()}
    return make_conninfo(
        "",
        host=connection.host or None,
        port=str(connection.port) if connection.port else None,
        user=connection.login or None,
        password=connection.password or None,
        dbname=connection.schema or None,
        **extra,
    )
