"""Shared fixtures: one embedded stack per test session, a fresh database and topics per test.

The stack is the same code as `pulse up` (pulse.local.stack), started under a temporary folder on
free ports, so tests never touch a developer's `.pulse/` nor the machine's own PostgreSQL.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pulse.local.stack import LocalStack, StackInfo
from pulse.settings import Settings
from pulse.warehouse.init import init_warehouse

# Privacy-minded defaults for every tool the tests start.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("AIRFLOW__USAGE_DATA_COLLECTION__ENABLED", "False")

TEST_PSEUDONYM_KEY = "test-pseudonym-key-not-secret"


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    # Not under pytest's temp root: pytest makes that private (0700) whenever a session starts,
    # and PostgreSQL runs as its own system user when the tests run as root.
    stack = LocalStack(Path(tempfile.mkdtemp(prefix="pulse-test-stack-")))
    stack.up()
    yield stack
    stack.down(purge=True)


@pytest.fixture(scope="session")
def stack_info(local_stack: LocalStack) -> StackInfo:
    return local_stack.require_info()


def _admin_dsn(info: StackInfo, database: str = "postgres") -> str:
    return f"postgresql://postgres@127.0.0.1:{info.pg_port}/{database}"


@pytest.fixture
def pg_dsn(stack_info: StackInfo, local_stack: LocalStack) -> Iterator[str]:
    """A fresh, initialised warehouse database for one test."""
    if not local_stack.postgres_running():  # a test may have stopped it on purpose
        local_stack.start_postgres()
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_dsn(stack_info), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = _admin_dsn(stack_info, name)
    init_warehouse(dsn)
    yield dsn
    if not local_stack.postgres_running():
        local_stack.start_postgres()
    with psycopg.connect(_admin_dsn(stack_info), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def settings(stack_info: StackInfo, pg_dsn: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own database and its own topics on the session broker."""
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        kafka_bootstrap=stack_info.kafka_bootstrap,
        pg_dsn=pg_dsn,
        pseudonym_key=TEST_PSEUDONYM_KEY,
        state_dir=tmp_path / ".pulse",
        events_topic=f"test.events.{suffix}",
        dlq_topic=f"test.dlq.{suffix}",
        metrics_topic=f"test.metrics.{suffix}",
        alerts_topic=f"test.alerts.{suffix}",
        incidents_topic=f"test.incidents.{suffix}",
        events_partitions=3,
        consumer_group=f"test-ingest-{suffix}",
    )
