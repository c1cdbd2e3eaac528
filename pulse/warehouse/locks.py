"""Advisory locks of the warehouse: jobs that must not overlap take the same named lock."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg

from pulse.warehouse.names import REBUILD_LOCK


def lock_in_transaction(conn: psycopg.Connection, name: str) -> None:
    """Take the named lock until the connection's transaction ends."""
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", [name])


@contextlib.contextmanager
def session_lock(dsn: str, name: str) -> Iterator[None]:
    """Hold the named lock (a session advisory lock, on a connection of its own) meanwhile."""
    conn = psycopg.connect(dsn, autocommit=True)
    try:
        conn.execute("select pg_advisory_lock(hashtext(%s))", [name])
        yield
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.execute("select pg_advisory_unlock(hashtext(%s))", [name])
        conn.close()


@contextlib.contextmanager
def rebuild_lock(dsn: str) -> Iterator[None]:
    """The warehouse's rebuild lock, taken by the dbt build and by member erasure: an erasure
    waits for a build in progress (which may be copying the member's rows into staging) and a
    build waits for an erasure."""
    with session_lock(dsn, REBUILD_LOCK):
        yield
