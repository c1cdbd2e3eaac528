"""A task's settings: the Airflow connections, when defined, win over the PULSE_* variables; the
owner login (promote, erasure) is a connection of its own, so the task's build login need not
be able to change what BI sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from psycopg.conninfo import conninfo_to_dict

from pulse.orchestration import task_settings
from pulse.runtime import owner_dsn, warehouse_dsn


@dataclass
class Connection:
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def extra_dejson(self) -> dict[str, Any]:
        return self.extra


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_PG_DSN", "postgresql://from-env@db.example/pulse")
    monkeypatch.delenv("PULSE_OWNER_PG_DSN", raising=False)


def test_without_an_owner_login_promote_and_erasure_use_the_warehouse_login() -> None:
    settings = task_settings()
    assert (
        owner_dsn(settings) == warehouse_dsn(settings) == "postgresql://from-env@db.example/pulse"
    )


def test_the_owner_connection_is_the_login_of_promote_and_erasure_only() -> None:
    settings = task_settings(
        warehouse=Connection(
            host="db.example", login="pulse_transform", password="t", schema="pulse"
        ),
        warehouse_owner=Connection(
            host="db.example",
            port=6432,
            login="pulse_owner",
            password="o s",
            schema="pulse",
            extra={"sslmode": "require"},
        ),
    )
    assert conninfo_to_dict(warehouse_dsn(settings)) == {
        "host": "db.example",
        "user": "pulse_transform",
        "password": "t",
        "dbname": "pulse",
    }
    assert conninfo_to_dict(owner_dsn(settings)) == {
        "host": "db.example",
        "port": "6432",
        "user": "pulse_owner",
        "password": "o s",
        "dbname": "pulse",
        "sslmode": "require",
    }


def test_the_owner_variable_is_used_when_no_owner_connection_is_defined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PULSE_OWNER_PG_DSN", "postgresql://pulse_owner@db.example/pulse")
    settings = task_settings(warehouse=Connection(host="db.example", login="pulse_transform"))
    assert owner_dsn(settings) == "postgresql://pulse_owner@db.example/pulse"
    assert conninfo_to_dict(warehouse_dsn(settings))["user"] == "pulse_transform"
