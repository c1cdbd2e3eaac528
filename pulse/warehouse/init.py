"""`pulse db init`: schemas, raw tables and least-privilege roles, idempotently."""

from __future__ import annotations

import logging
from importlib import resources

import psycopg
from psycopg import sql

from pulse.errors import ConfigurationError
from pulse.warehouse.locks import lock_in_transaction
from pulse.warehouse.names import BRAND_BI_ROLE, INGEST_ROLE, INIT_LOCK, ROLES, TRANSFORM_ROLE
from streaming.privacy import key_fingerprint

logger = logging.getLogger(__name__)


def init_sql() -> str:
    return resources.files("pulse.warehouse").joinpath("sql/init.sql").read_text()


def quality_sql() -> str:
    """The quality schema's tables (gate results, promotions); runs after init.sql."""
    return resources.files("pulse.warehouse").joinpath("sql/quality.sql").read_text()


def pipeline_sql() -> str:
    """The pipeline's own tables (runs, published alerts, replays, erasures)."""
    return resources.files("pulse.warehouse").joinpath("sql/pipeline.sql").read_text()


def access_sql() -> str:
    """Per-brand access to the marts (the group role, quality.brand_access); before owner.sql."""
    return resources.files("pulse.warehouse").joinpath("sql/access.sql").read_text()


def owner_sql() -> str:
    """The owner role's grants on the quality schema; runs last, once every table exists."""
    return resources.files("pulse.warehouse").joinpath("sql/owner.sql").read_text()


def init_warehouse(
    dsn: str,
    role_passwords: dict[str, str] | None = None,
    *,
    pseudonym_key: str | None = None,
    rotate_key: bool = False,
) -> None:
    """Create (or leave as they are) the schemas, tables and roles (docs/contracts.md).

    Runs in one transaction, so a failure leaves the warehouse as it was.

    Args:
        dsn: connection string of a role that may create schemas and roles.
        role_passwords: optional login passwords per role (from the environment).
        pseudonym_key: the key member keys are made with; its fingerprint (never the key) is
            recorded, and a warehouse that already records another one is refused.
        rotate_key: record `pseudonym_key` as the warehouse's key even though another one is
            recorded (docs/runbook.md, "Key rotation": every member key changes).

    Raises:
        ConfigurationError: the warehouse records another key and `rotate_key` is not set.
    """
    with psycopg.connect(dsn) as conn:
        dbname = conn.info.dbname
        # Two concurrent inits would race on CREATE ROLE; serialise them.
        lock_in_transaction(conn, INIT_LOCK)
        conn.execute(init_sql())
        conn.execute(quality_sql())
        conn.execute(pipeline_sql())
        conn.execute(access_sql())
        conn.execute(owner_sql())
        database = sql.Identifier(conn.info.dbname)
        conn.execute(sql.SQL("revoke all on database {} from public").format(database))
        for role in (*ROLES, BRAND_BI_ROLE):
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
        if pseudonym_key is not None:
            _record_key(conn, key_fingerprint(pseudonym_key), rotate=rotate_key)
    logger.info("warehouse initialised in database %s", dbname)


def _record_key(conn: psycopg.Connection, fingerprint: str, *, rotate: bool) -> None:
    active = conn.execute(
        "select fingerprint from raw.pseudonym_key where retired_at is null"
    ).fetchone()
    if active is not None and active[0] == fingerprint:
        return
    if active is not None and not rotate:
        raise ConfigurationError(
            f"the warehouse's member keys were made with another pseudonym key (fingerprint "
            f"{active[0][:12]}, this one is {fingerprint[:12]}); rotating it splits every member "
            "in two: see docs/runbook.md, Key rotation, then run `pulse db init --rotate-key`"
        )
    if active is not None:
        logger.warning(
            "pseudonym key rotated: fingerprint %s retired, %s active",
            active[0][:12],
            fingerprint[:12],
        )
    conn.execute("update raw.pseudonym_key set retired_at = now() where retired_at is null")
    conn.execute(
        "insert into raw.pseudonym_key (fingerprint) values (%s) "
        "on conflict (fingerprint) do update set retired_at = null, recorded_at = now(), "
        "recorded_by = current_user",
        [fingerprint],
    )


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
