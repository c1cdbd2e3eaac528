"""`pulse db init` records the pseudonym key's fingerprint (never the key), refuses another key
and accepts it only with `--rotate-key` (docs/runbook.md, "Key rotation")."""

from __future__ import annotations

import hashlib
import hmac

import psycopg
import pytest

from pulse.errors import ConfigurationError
from pulse.warehouse.init import init_warehouse

pytestmark = pytest.mark.integration


def _fingerprint(key: str) -> str:
    return hmac.new(key.encode(), b"pulse key fingerprint", hashlib.sha256).hexdigest()


def _keys(dsn: str) -> list[tuple[str, bool]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select fingerprint, retired_at is null from raw.pseudonym_key order by recorded_at"
        ).fetchall()


def test_init_records_the_fingerprint_and_refuses_another_key_unless_rotating(pg_dsn: str) -> None:
    init_warehouse(pg_dsn, pseudonym_key="first-key")
    init_warehouse(pg_dsn, pseudonym_key="first-key")  # the same key: nothing changes
    assert _keys(pg_dsn) == [(_fingerprint("first-key"), True)]

    with pytest.raises(ConfigurationError, match="--rotate-key"):
        init_warehouse(pg_dsn, pseudonym_key="second-key")
    assert _keys(pg_dsn) == [(_fingerprint("first-key"), True)]

    init_warehouse(pg_dsn, pseudonym_key="second-key", rotate_key=True)
    assert _keys(pg_dsn) == [(_fingerprint("first-key"), False), (_fingerprint("second-key"), True)]
    with psycopg.connect(pg_dsn) as conn:
        dumped = str(conn.execute("select * from raw.pseudonym_key").fetchall())
    assert "first-key" not in dumped and "second-key" not in dumped


def test_init_sql_allows_exactly_the_reasons_of_the_decoder(pg_dsn: str) -> None:
    from streaming.decode import REASONS

    with psycopg.connect(pg_dsn) as conn:
        definition = conn.execute(
            "select pg_get_constraintdef(oid) from pg_constraint "
            "where conname = 'dead_letter_events_reason_check'"
        ).fetchone()[0]
    allowed = {part.split("'")[1] for part in definition.split("ARRAY[")[1].split(",")}
    assert allowed == set(REASONS)
