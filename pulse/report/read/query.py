"""Small helpers every reader of the report uses on query results."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from psycopg import Connection
from psycopg.abc import Query


def scalar(conn: Connection, query: Query, params: Sequence[Any] = ()) -> Any:
    """The first column of the first row of `query` (None when there is no row)."""
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def as_float(value: Any) -> float | None:
    """A numeric column as a float; None stays None (a figure that is not shown)."""
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal | int | float) else float(str(value))
