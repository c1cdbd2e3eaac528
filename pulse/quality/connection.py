"""The connection a gate hands Great Expectations: a SQLAlchemy URL whose sessions start
read-only, as pulse_transform when allowed, with the gate's own settings.

Great Expectations opens its own engine from a connection string, so everything the session
needs (the raw interval as `pulse.gate_*` settings, the marts' `search_path`) travels as libpq
`options` in the URL.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg.conninfo import conninfo_to_dict

from pulse.warehouse.names import TRANSFORM_ROLE


def sqlalchemy_url(dsn: str, settings: Mapping[str, str]) -> str:
    """A SQLAlchemy URL (psycopg2 driver) for `dsn`, with session `settings` at connect time.

    Args:
        dsn: libpq connection string or URI.
        settings: server settings (`-c name=value`) every connection of the engine starts with.

    Returns:
        The URL as text, password included (it lives in memory only, in the GX runtime
        environment).
    """
    # SQLAlchemy comes with Great Expectations and is only needed when a gate runs; importing it
    # here keeps `import pulse.quality` light, like the GX imports.
    from sqlalchemy.engine import URL

    params = {key: str(value) for key, value in conninfo_to_dict(dsn).items() if value is not None}
    options = " ".join(f"-c {name}={_escape_option(value)}" for name, value in settings.items())
    params["options"] = f"{params['options']} {options}" if params.get("options") else options
    host = params.pop("host", None)
    port = params.pop("port", None)
    query = dict(params)
    user, password = query.pop("user", None), query.pop("password", None)
    database = query.pop("dbname", None)
    # Socket folders and multi-host lists do not fit a URL's host part; libpq reads them as
    # query parameters just the same.
    if host and ("/" in host or "," in host):
        query["host"] = host
        if port:
            query["port"] = port
        host = port = None
    url = URL.create(
        "postgresql+psycopg2",
        username=user,
        password=password,
        host=host,
        port=int(port) if port else None,
        database=database,
        query=query,
    )
    return url.render_as_string(hide_password=False)


def _escape_option(value: str) -> str:
    # libpq splits `options` on spaces; a backslash keeps one inside a value.
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


def gate_session(dsn: str, session: dict[str, str]) -> dict[str, str]:
    """Settings every Great Expectations connection starts with: read-only, and acting as
    pulse_transform when the DSN's role may (so a gate sees what the transform sees).

    Args:
        dsn: the warehouse connection string the gate was given.
        session: the gate's own settings (the raw interval, or the marts' search_path).

    Returns:
        `session` plus the role and read-only settings, for `sqlalchemy_url`.
    """
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select pg_has_role(current_user, %s, 'MEMBER')", [TRANSFORM_ROLE]
        ).fetchone()
    role = {"role": TRANSFORM_ROLE} if row and row[0] else {}
    # The gate only reads; a read-only session makes that a fact rather than a promise.
    return {**session, **role, "default_transaction_read_only": "on"}
