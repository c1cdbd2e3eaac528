"""Shared set-up of the benchmarks: a fresh warehouse database on a given or embedded server."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pulse.local.stack import LocalStack
from pulse.warehouse.init import init_warehouse
from streaming.decode import EVENT_COLUMNS, Decoder, EventRow
from streaming.privacy import Pseudonymizer


def add_common_arguments(parser: argparse.ArgumentParser, events_help: str) -> None:
    """--events, --days, --seed, --dsn and --keep, the same in every benchmark."""
    parser.add_argument("--events", type=int, default=1_000_000, help=events_help)
    parser.add_argument("--days", type=int, default=60, help="span of the generated events")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--dsn",
        help="an existing server (a superuser DSN); a fresh database is made on it. "
        "Default: an embedded PostgreSQL in a temporary folder.",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")


@dataclass(frozen=True)
class BenchWarehouse:
    dsn: str
    workdir: Path
    kafka_bootstrap: str | None


@contextmanager
def bench_warehouse(
    admin_dsn: str | None, prefix: str, *, kafka: bool = False, keep: bool = False
) -> Iterator[BenchWarehouse]:
    """A new, initialised database (on `admin_dsn`'s server, else an embedded one), removed
    afterwards unless `keep`."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    stack: LocalStack | None = None
    bootstrap = None
    if admin_dsn is None:
        stack = LocalStack(workdir / "stack")
        info = stack.up(kafka=kafka)
        admin_dsn, bootstrap = info.pg_dsn, (info.kafka_bootstrap if kafka else None)
    database = f"pulse_bench_{uuid.uuid4().hex[:8]}"
    admin = make_conninfo(admin_dsn, dbname=conninfo_to_dict(admin_dsn).get("dbname", "postgres"))
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
        dsn = make_conninfo(admin_dsn, dbname=database)
        init_warehouse(dsn)
        yield BenchWarehouse(dsn=dsn, workdir=workdir, kafka_bootstrap=bootstrap)
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("drop database if exists {} with (force)").format(
                        sql.Identifier(database)
                    )
                )
        if stack is not None:
            stack.down(purge=not keep)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


BENCH_KEY = "bench-pseudonym-key-not-secret"


def decode_rows(values: list[bytes], topic: str, first_offset: int = 0) -> list[tuple]:
    """Decode `values` as the consumer does (validation, pseudonymisation, sentiment) into rows
    for COPY (the order of streaming.decode.EVENT_COLUMNS); invalid values are left out."""
    decoder = Decoder(Pseudonymizer(BENCH_KEY), timedelta(minutes=5))
    rows = []
    for offset, value in enumerate(values, first_offset):
        decoded = decoder.decode(topic, 0, offset, None, value)
        if isinstance(decoded, EventRow):
            rows.append(decoded.copy_row(topic))
    return rows


def copy_rows(dsn: str, rows: list[tuple], *, analyze: bool = True) -> int:
    """Load decoded rows with the consumer's bulk path (COPY into a temp table, then
    insert-select ... on conflict do nothing), one transaction; returns the rows inserted."""
    columns = sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "create temp table incoming (like raw.community_events including defaults) "
            "on commit drop"
        )
        with conn.cursor().copy(sql.SQL("copy incoming ({}) from stdin").format(columns)) as copy:
            for row in rows:
                copy.write_row(row)
        inserted = conn.execute(
            sql.SQL(
                "insert into raw.community_events ({cols}) select {cols} from incoming "
                "on conflict (event_id) do nothing"
            ).format(cols=columns)
        ).rowcount
        if analyze:
            conn.execute("analyze raw.community_events")
    return inserted


def load_raw(dsn: str, values: list[bytes], topic: str, first_offset: int = 0) -> int:
    """Decode `values` as the consumer does and load them with its bulk path (COPY into a temp
    table, then insert-select); returns the rows inserted."""
    return copy_rows(dsn, decode_rows(values, topic, first_offset))
