"""`pulse db init`: schemas, raw tables and least-privilege roles, idempotently."""

from __future__ import annotations

import logging
from importlib import resources

import psycopg
from psycopg import sql

from pulse.warehouse.locks import lock_in_transaction
from pulse.warehouse.names import INGEST_ROLE, INIT_LOCK, ROLES, TRANSFORM_ROLE

logger = logging.getLogger(__name__)


def init_sql() -> str:
    return resources.files("pulse.warehouse").joinpath("sql/init.sql").read_text()


def quality_sql() -> str:
    """The quality schema's tables (gate results, promotions); runs after init.sql."""
    return resources.files("pulse.warehouse").joinpath("sql/quality.sql").read_text()


def pipeline_sql() -> str:
    """The pipeline's own tables (runs, published alerts, replays, erasures)."""
    return resources.files("pulse.warehouse").joinpath("sql/pipeline.sql").read_text()


def init_warehouse(dsn: str, role_passwords: dict[str, str] | None = None) -> None:
    """Create (or leave as they are) the schemas, tables and roles (docs/contracts.md).

    Runs in one transaction, so a failure leaves the warehouse as it was.

    Args:
        dsn: connection string of a role that may create schemas and roles.
        role_passwords: optional login passwords per role (from the environment).
    """
    with psycopg.connect(dsn) as conn:
        dbname = conn.info.dbname
        # Two concurrent inits would race on CREATE ROLE; serialise them.
        lock_in_transaction(conn, INIT_LOCK)
        conn.execute(init_sql())
        conn.execute(quality_sql())
        conn.execute(pipeline_sql())
        database = sql.Identifier(conn.info.dbname)
        conn.execute(sql.SQL("revoke all on database {} from public").format(database))
        for role in ROLES:
            conn.execute(
                sql.SQL("grant connect on database {} to {}").format(database, sql.Identifier(role))
            )
        # COPY goes through a session temp table; dbt creates its own schemas.
        conn.execute(
            sql.SQL("grant temporary on database {} to {}").format(
                database, sql.Identifier(INGEST_ROLE)
            )
        )
        conn.execute(
            sql.SQL("grant create, temporary on database {} to {}").format(
                database, sql.Identifier(TRANSFORM_ROLE)
            )
        )
        for role, password in (role_passwords or {}).items():
            conn.execute(
                sql.SQL("alter role {} password {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
    logger.info("warehouse initialised in database %s", dbname)


def ensure_pipeline_tables(dsn: str) -> None:
    """Create the pipeline's tables when they are missing (`pulse db init` creates them too).

    Does nothing when quality.pipeline_runs exists, so a least-privilege role can call it.
    """
    with psycopg.connect(dsn) as conn:
        row = conn.execute("select to_regclass('quality.pipeline_runs')").fetchone()
        if row and row[0] is not None:
            return
        lock_in_transaction(conn, INIT_LOCK)
        conn.execute(pipeline_sql())
