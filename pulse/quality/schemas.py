"""Build schemas a marts gate accepts: a name the pipeline makes, holding every mart.

The promote step checks names with the same rule before it touches a schema.
"""

from __future__ import annotations

import re

import psycopg

from pulse.errors import PulseError
from pulse.warehouse.names import MARTS

# Schema names the gates and the promote step accept (also what `build_schema_name` makes).
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema_name(name: str) -> str:
    """`name`, if it is a schema name the pipeline makes.

    Args:
        name: a build schema's name, about to be put into SQL or a search_path.

    Returns:
        `name`, unchanged.

    Raises:
        PulseError: `name` is not `[a-z_][a-z0-9_]{0,62}`.
    """
    if not SCHEMA_NAME.match(name):
        raise PulseError(f"not a schema name the pipeline makes: {name!r} (expected [a-z0-9_])")
    return name


def missing_marts(dsn: str, schema: str) -> list[str]:
    """The marts (`pulse.warehouse.names.MARTS`) that `schema` has no table or view for.

    Args:
        dsn: warehouse connection string.
        schema: the build schema to look into.

    Returns:
        The missing marts' names, in the order of `MARTS`; empty when the build is complete.
    """
    with psycopg.connect(dsn) as conn:
        present = {
            row[0]
            for row in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                [schema],
            )
        }
    return [mart for mart in MARTS if mart not in present]
