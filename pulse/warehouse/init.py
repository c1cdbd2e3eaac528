"""`pulse db init`: schemas, raw tables and least-privilege roles, idempotently."""

from __future__ import annotations

import logging
from importlib import resources

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

ROLES = ("pulse_ingest", "pulse_transform", "pulse_bi")


def init_sql() -> str:
    return resources.files("pulse.warehouse").joinpath("sql/init.sql").read_text()


def quality_sql() -> str:
    """The quality schema's tables (gate results, promotions); runs after init.sql."""
    return resources.files("pulse.warehouse").joinpath("sql/quality.sql").read_text()


def pipeline_sql() -> str:
    """The pipeline's own tables (runs, published alerts, replays, erasures)."""
    return resources.files("pulse.warehouse").joinpath("sql/pipeline.sql").read_text()


def init_warehouse(dsn: str, role_passwords: dict[str, str] | None = None) -> None:
    """Create (or leave as they are) the schemas, raw tables and roles of DESIGN.md.

    Runs in one transaction, so a failure leaves the warehouse as it was.

    Args:
        dsn: connection string of a role that may create schemas and roles.
        role_passwords: optional login passwords per role (from the environment).
    """
    with psycopg.connect(dsn) as conn:
        dbname = conn.info.dbname
        # Two concurrent inits would race on CREATE ROLE; serialise them.
        conn.execute("select pg_advisory_xact_lock(hashtext('pulse db init'))")
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
        conn.execute(sql.SQL("grant temporary on database {} to pulse_ingest").format(database))
        conn.execute(
            sql.SQL("grant create, temporary on database {} to pulse_transform").format(database)
        )
        for role, password in (role_passwords or {}).items():
            conn.execute(
                sql.SQL("alter role {} password {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
    logger.info("warehouse initialised in database %s", dbname)
