"""Member erasure: apply `member.erased` requests to every table of the warehouse.

The privacy contract (docs/contracts.md): after an erasure no row in any schema carries the
member's key; the member's past activity may remain only as anonymous counts. dbt already
leaves erased members out of everything it builds; this removes the rest:

1. requests: the `member.erased` events in raw (each is removed with the member's other rows,
   so a request present in raw has not been applied yet), plus *late arrivals*: events and dead
   letters of a member erased earlier that were ingested since (delivered late, or replayed),
   recognised by the SHA-256 of their member key in `quality.erased_members`;
2. every base table with a `member_key` column, in every schema (raw, staging, intermediate,
   build schemas, and any added later): rows of those members are deleted. The BI views of
   `marts` and the marts themselves hold counts only;
3. text and jsonb values of `quality.*` that quote one of the keys (a gate's examples of
   unexpected values) have it replaced by `[erased]`;
4. the request ids, the key digests and what was deleted per table are recorded
   (`quality.member_erasures`, `quality.erased_members`, `quality.erasure_runs`); none of them
   holds a member key.

All of it is one transaction, under the warehouse's rebuild lock (a dbt build in progress could
otherwise copy the member's rows into a new table after they were deleted): a run that fails
(a table it cannot delete from, a lock it waits for too long) changes nothing, and says where.

What this cannot reach: Kafka. The inbound and DLQ topics keep the original messages until their
retention expires (give the DLQ topic a short one); a replay skips erased members.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from pulse.errors import PulseError
from pulse.warehouse.connect import connect
from pulse.warehouse.locks import lock_in_transaction, rebuild_lock
from pulse.warehouse.names import ERASURE_LOCK, OWNER_ROLE

logger = logging.getLogger(__name__)

REDACTED = "[erased]"
# Late arrivals are looked for among events ingested since the previous erasure run started,
# minus this margin (a batch transaction may commit after a run began).
LATE_ARRIVAL_MARGIN = timedelta(days=1)
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")
_DIGEST = "encode(sha256(convert_to({}, 'UTF8')), 'hex')"


class ErasureIncomplete(PulseError):
    """Rows of erased members are still in the warehouse."""


class ErasureFailed(PulseError):
    """An erasure run could not delete from a table; being one transaction, it changed nothing."""


@dataclass
class ErasureReport:
    """What one erasure run did."""

    run_id: str
    requests: int = 0
    members: int = 0
    late_arrivals: int = 0
    rows_deleted: dict[str, int] = field(default_factory=dict)
    values_redacted: int = 0
    # Requests that matched no row of the member but the request itself.
    unmatched_requests: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "requests": self.requests,
            "members": self.members,
            "late_arrivals": self.late_arrivals,
            "rows_deleted": self.rows_deleted,
            "values_redacted": self.values_redacted,
            "unmatched_requests": self.unmatched_requests,
            "seconds": round(self.seconds, 3),
        }


def key_digest(member_key: str) -> str:
    """What the erasure records instead of a member key."""
    return hashlib.sha256(member_key.encode()).hexdigest()


def member_key_tables(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(schema, table) of every base table with a member_key column, outside system schemas.

    Read from the catalog, not information_schema: the latter lists only tables the session may
    use, so a table the erasure role cannot write would be skipped silently instead of failing
    the run with its name.
    """
    return [
        (row[0], row[1])
        for row in conn.execute(
            "select n.nspname, c.relname from pg_attribute as a "
            "join pg_class as c on c.oid = a.attrelid "
            "join pg_namespace as n on n.oid = c.relnamespace "
            "where a.attname = 'member_key' and not a.attisdropped "
            "and c.relkind in ('r', 'p') and not c.relispartition "
            "and n.nspname <> all(%s) and n.nspname not like 'pg\\_%%' "
            "order by 1, 2",
            [list(_SYSTEM_SCHEMAS)],
        )
    ]


def _quality_text_columns(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """(table, column, type) of text-like columns of quality's base tables."""
    return [
        (row[0], row[1], row[2])
        for row in conn.execute(
            "select c.table_name, c.column_name, c.data_type from information_schema.columns as c "
            "join information_schema.tables as t "
            "  on t.table_schema = c.table_schema and t.table_name = c.table_name "
            "where c.table_schema = 'quality' and t.table_type = 'BASE TABLE' "
            "and c.data_type in ('text', 'character varying', 'jsonb', 'json') order by 1, 2"
        )
    ]


def apply_erasures(dsn: str, *, run_id: str, now: datetime | None = None) -> ErasureReport:
    """Apply every pending erasure request (see the module doc); one transaction.

    Args:
        dsn: warehouse connection string of a role that may delete from raw and the dbt schemas
            (the warehouse owner).
        run_id: the erasure run (recorded).
        now: the run's start (default: the clock).

    Returns:
        What was deleted, table by table.
    """
    started_at = now or datetime.now(UTC)
    clock = time.perf_counter()
    report = ErasureReport(run_id=run_id)
    # Least privilege: a superuser DSN (the embedded stack) still erases as pulse_owner.
    with rebuild_lock(dsn), connect(dsn, role=OWNER_ROLE, required=False) as conn:
        lock_in_transaction(conn, ERASURE_LOCK)
        pending = conn.execute(
            "select event_id, member_key, member_ref, platform, community_id, occurred_at "
            "from raw.community_events "
            "where event_type = 'member.erased' and member_key is not null"
        ).fetchall()
        # A request without a platform covers the member under every platform seen.
        everywhere = sorted({row[2] for row in pending if row[3] is None and row[2]})
        expanded = _keys_of_refs(conn, everywhere)
        matched = _matched_rows(conn, pending, expanded)
        requests = [(row[0], row[1], row[4], row[5]) for row in pending]
        late = _late_arrivals(conn)
        keys = sorted({row[1] for row in requests} | set(expanded) | late)
        report.unmatched_requests = sorted(str(row[0]) for row in pending if not matched[row[0]])
        report.requests = len(requests)
        report.late_arrivals = len(late - {row[1] for row in requests})
        report.members = len(keys)
        if keys:
            for schema, table in member_key_tables(conn):
                deleted = _delete(conn, schema, table, keys, run_id)
                if deleted:
                    report.rows_deleted[f"{schema}.{table}"] = deleted
            report.values_redacted = _redact_quality(conn, keys)
            with conn.cursor() as cursor:
                cursor.executemany(
                    "insert into quality.erased_members (member_key_sha256) values (%s) "
                    "on conflict (member_key_sha256) do update set last_erased_at = now()",
                    [(key_digest(key),) for key in keys],
                )
                cursor.executemany(
                    "insert into quality.erased_member_refs (member_ref_sha256) values (%s) "
                    "on conflict (member_ref_sha256) do update set last_erased_at = now()",
                    [(key_digest(ref),) for ref in everywhere],
                )
                cursor.executemany(
                    "insert into quality.member_erasures (erasure_event_id, member_key_sha256, "
                    "community_id, requested_at, run_id, matched_rows) "
                    "values (%s, %s, %s, %s, %s, %s) on conflict (erasure_event_id) do nothing",
                    [
                        (
                            event_id,
                            key_digest(key),
                            community_id,
                            requested_at,
                            run_id,
                            matched[event_id],
                        )
                        for event_id, key, community_id, requested_at in requests
                    ],
                )
        report.seconds = time.perf_counter() - clock
        conn.execute(
            "insert into quality.erasure_runs (run_id, requests, members, late_arrivals, "
            "rows_deleted, values_redacted, started_at, finished_at) "
            "values (%s, %s, %s, %s, %s, %s, %s, now())",
            [
                run_id,
                report.requests,
                report.members,
                report.late_arrivals,
                Jsonb(report.rows_deleted),
                report.values_redacted,
                started_at,
            ],
        )
    for event_id in report.unmatched_requests:
        logger.warning(
            "erasure request %s matched no event of its member (a wrong id, a platform never "
            "seen, or a pseudonym key other than the events'): nothing but the request erased",
            event_id,
        )
    logger.info(
        "erasure %s: %d requests, %d members (%d late arrivals), %d rows deleted in %d tables",
        run_id,
        report.requests,
        report.members,
        report.late_arrivals,
        sum(report.rows_deleted.values()),
        len(report.rows_deleted),
    )
    return report


def _delete(conn: psycopg.Connection, schema: str, table: str, keys: list[str], run_id: str) -> int:
    """Delete the members' rows from one table; a failure names the table."""
    try:
        return conn.execute(
            sql.SQL("delete from {} where member_key = any(%s)").format(
                sql.Identifier(schema, table)
            ),
            [keys],
        ).rowcount
    except psycopg.Error as error:
        raise ErasureFailed(
            f"erasure {run_id} could not delete from {schema}.{table} "
            f"({' '.join(str(error).split())}); nothing was erased (one transaction): "
            "run it again once that table can be written"
        ) from error


def _keys_of_refs(conn: psycopg.Connection, refs: list[str]) -> dict[str, str]:
    """{member_key: member_ref} of every key seen for these member refs, on any platform."""
    if not refs:
        return {}
    rows = conn.execute(
        "select distinct member_key, member_ref from raw.community_events "
        "where member_ref = any(%(refs)s) and member_key is not null "
        "union "
        "select distinct member_key, member_ref from raw.dead_letter_events "
        "where member_ref = any(%(refs)s) and member_key is not null",
        {"refs": refs},
    ).fetchall()
    return {key: ref for key, ref in rows}


def _matched_rows(
    conn: psycopg.Connection, pending: list[tuple[Any, ...]], expanded: dict[str, str]
) -> dict[Any, int]:
    """Per request: the member's other raw events it erases (0: it matched nothing)."""
    matched: dict[Any, int] = {}
    for event_id, key, ref, platform, _, _ in pending:
        keys = [key, *(k for k, r in expanded.items() if platform is None and r == ref)]
        row = conn.execute(
            "select count(*) from raw.community_events "
            "where member_key = any(%s) and event_type <> 'member.erased'",
            [keys],
        ).fetchone()
        matched[event_id] = int(row[0]) if row else 0
    return matched


def _late_arrivals(conn: psycopg.Connection) -> set[str]:
    """Keys of members erased earlier whose events or dead letters arrived since the last run."""
    if not conn.execute("select exists (select from quality.erased_members)").fetchone()[0]:  # type: ignore[index]
        return set()
    row = conn.execute("select max(started_at) from quality.erasure_runs").fetchone()
    since = row[0] - LATE_ARRIVAL_MARGIN if row and row[0] else None
    query = sql.SQL(
        "select distinct arrived.member_key from ("
        "  select member_key, member_ref from raw.community_events "
        "  where ingested_at >= coalesce(%(since)s::timestamptz, '-infinity') "
        "  union all "
        "  select member_key, member_ref from raw.dead_letter_events "
        "  where received_at >= coalesce(%(since)s::timestamptz, '-infinity')"
        ") as arrived "
        "where arrived.member_key is not null and ("
        "  exists (select from quality.erased_members as erased "
        "          where erased.member_key_sha256 = {key_digest})"
        "  or exists (select from quality.erased_member_refs as erased "
        "             where erased.member_ref_sha256 = {ref_digest}))"
    ).format(
        key_digest=sql.SQL(_DIGEST).format(sql.SQL("arrived.member_key")),
        ref_digest=sql.SQL(_DIGEST).format(sql.SQL("arrived.member_ref")),
    )
    return {r[0] for r in conn.execute(query, {"since": since})}


def _redact_quality(conn: psycopg.Connection, keys: list[str]) -> int:
    """Replace erased keys quoted in quality's text and jsonb values; returns values changed."""
    changed = 0
    for table, column, data_type in _quality_text_columns(conn):
        name = sql.Identifier(column)
        value = sql.SQL("replace({}::text, %s, %s)").format(name)
        if data_type in ("jsonb", "json"):
            value = sql.SQL("{}::{}").format(value, sql.SQL(data_type))
        query = sql.SQL("update {} set {} = {} where strpos({}::text, %s) > 0").format(
            sql.Identifier("quality", table), name, value, name
        )
        for key in keys:
            changed += conn.execute(query, [key, REDACTED, key]).rowcount
    return changed


def verify_erasures(dsn: str) -> dict[str, int]:
    """Rows still carrying the key of any erased member, per table (empty: all gone).

    Compares digests, so it needs no member key: a full scan of every member_key table.
    """
    left: dict[str, int] = {}
    with psycopg.connect(dsn) as conn:
        if not conn.execute("select exists (select from quality.erased_members)").fetchone()[0]:  # type: ignore[index]
            return left
        for schema, table in member_key_tables(conn):
            query = sql.SQL(
                "select count(*) from {} as t where t.member_key is not null and {} in "
                "(select member_key_sha256 from quality.erased_members)"
            ).format(
                sql.Identifier(schema, table),
                sql.SQL(_DIGEST).format(sql.SQL("t.member_key")),
            )
            count = conn.execute(query).fetchone()[0]  # type: ignore[index]
            if count:
                left[f"{schema}.{table}"] = count
    return left


def require_erased(dsn: str) -> None:
    """Raise ErasureIncomplete when any row of an erased member is left."""
    left = verify_erasures(dsn)
    if left:
        where = ", ".join(f"{table} ({count})" for table, count in sorted(left.items()))
        raise ErasureIncomplete(f"rows of erased members are still in {where}")
