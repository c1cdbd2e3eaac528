"""Connections to the warehouse, acting as one of the pipeline's roles.

Every service acts as its own least-privilege role whatever login its DSN names: a superuser DSN
(the embedded stack's) still builds as pulse_transform and reads marts as pulse_bi. The role is
set with `SET ROLE` and committed at once, so a later rollback cannot silently return the
session to the login role's privileges.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from pulse.errors import PulseError


class RoleUnavailable(PulseError):
    """The DSN's login may not act as the role asked for."""


def connect(
    dsn: str,
    *,
    role: str | None = None,
    required: bool = True,
    read_only: bool = False,
    autocommit: bool = False,
    **options: Any,
) -> psycopg.Connection:
    """A connection to the warehouse that acts as `role`.

    Args:
        dsn: libpq connection string or URI.
        role: act as this role (`SET ROLE`); None keeps the login role.
        required: when the login may not act as `role`: raise (True), or keep the login role
            (False: for readers that use whatever the login may see).
        read_only: make every transaction of the session read-only.
        autocommit: psycopg's autocommit mode.
        **options: further keyword arguments of `psycopg.connect` (connect_timeout, ...).

    Raises:
        RoleUnavailable: `required` and the login is neither `role` nor a member of it.
        psycopg.OperationalError: the warehouse cannot be reached.
    """
    conn = psycopg.connect(dsn, autocommit=autocommit, **options)
    try:
        if role is not None:
            row = conn.execute(
                "select current_user = %s or pg_has_role(current_user, %s, 'MEMBER')",
                [role, role],
            ).fetchone()
            if row and row[0]:
                conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
            elif required:
                raise RoleUnavailable(
                    f"this warehouse login may not act as {role} (log in as {role}, or as a "
                    f"role granted {role})"
                )
        if read_only:
            conn.execute("set default_transaction_read_only = on")
        if not autocommit:
            conn.commit()
    except BaseException:
        conn.close()
        raise
    return conn


def current_role(conn: psycopg.Connection) -> str:
    """The role the session acts as now."""
    row = conn.execute("select current_user").fetchone()
    return str(row[0]) if row else ""
