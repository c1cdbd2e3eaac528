"""`pulse db init` (pulse.warehouse.init.init_warehouse): idempotent, and least privilege per role
(docs/contracts.md, "Warehouse"): pulse_ingest writes raw only, pulse_transform reads raw,
pulse_bi reads marts only. Every statement runs under SET ROLE in a transaction that is rolled back.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from pulse.warehouse.init import ROLES, init_warehouse
from pulse.warehouse.names import BRAND_BI_ROLE

pytestmark = pytest.mark.integration

NON_SYSTEM = "not in ('pg_catalog', 'information_schema', 'pg_toast')"

SNAPSHOT = {
    "schemas": f"""
        select nspname, pg_get_userbyid(nspowner), coalesce(nspacl::text, '')
        from pg_namespace where nspname {NON_SYSTEM} and nspname not like 'pg\\_%'
        order by 1""",
    "relations": f"""
        select n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner),
               coalesce(c.relacl::text, ''), c.relpersistence
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname {NON_SYSTEM} and n.nspname not like 'pg\\_%'
        order by 1, 2""",
    "columns": f"""
        select table_schema, table_name, column_name, ordinal_position, data_type,
               is_nullable, coalesce(column_default, ''), is_identity
        from information_schema.columns where table_schema {NON_SYSTEM}
        order by 1, 2, 4""",
    "constraints": """
        select conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        from pg_constraint
        where connamespace::regnamespace::text not in ('pg_catalog', 'information_schema')
        order by 1, 2""",
    "indexes": f"""
        select schemaname, tablename, indexname, indexdef from pg_indexes
        where schemaname {NON_SYSTEM} order by 1, 2, 3""",
    "roles": """
        select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
               rolreplication, rolbypassrls, rolconnlimit
        from pg_roles where rolname like 'pulse\\_%' order by 1""",
    "memberships": """
        select roleid::regrole::text, member::regrole::text, admin_option from pg_auth_members
        where roleid::regrole::text like 'pulse\\_%' or member::regrole::text like 'pulse\\_%'
        order by 1, 2""",
    "table_grants": f"""
        select grantee, table_schema, table_name, privilege_type, is_grantable
        from information_schema.role_table_grants where table_schema {NON_SYSTEM}
        order by 1, 2, 3, 4""",
    "column_grants": f"""
        select grantee, table_schema, table_name, column_name, privilege_type
        from information_schema.column_privileges
        where table_schema {NON_SYSTEM} and grantee like 'pulse\\_%'
        order by 1, 2, 3, 4, 5""",
    "schema_privileges": f"""
        select r.rolname, n.nspname, p.privilege,
               has_schema_privilege(r.rolname, n.nspname, p.privilege)
        from pg_roles r
        cross join pg_namespace n
        cross join (values ('USAGE'), ('CREATE')) as p (privilege)
        where r.rolname like 'pulse\\_%' and n.nspname {NON_SYSTEM}
          and n.nspname not like 'pg\\_%'
        order by 1, 2, 3""",
    "database": """
        select datname = current_database(), coalesce(datacl::text, '') from pg_database
        where datname = current_database()""",
    "default_acls": """
        select pg_get_userbyid(defaclrole), defaclnamespace::regnamespace::text,
               defaclobjtype, defaclacl::text
        from pg_default_acl order by 1, 2, 3""",
}


def snapshot(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(dsn) as conn:
        return {name: conn.execute(query).fetchall() for name, query in SNAPSHOT.items()}


def as_role(dsn: str, role: str, statement: str) -> list[tuple[Any, ...]]:
    """Run `statement` as `role`, then roll everything back."""
    with psycopg.connect(dsn) as conn:
        try:
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
            cursor = conn.execute(statement)
            return cursor.fetchall() if cursor.description else []
        finally:
            conn.rollback()


def denied(dsn: str, role: str, statement: str) -> bool:
    try:
        as_role(dsn, role, statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


EVENT_ROW = """
    insert into raw.community_events (event_id, event_type, schema_version, occurred_at,
        community_id, member_key, payload, source_topic, source_partition, source_offset)
    values ('10000000-0000-4000-8000-000000000001', 'member.left', 1, now(), 'c1',
        repeat('a', 64), '{}', 'community.events.v1', 0, 0)
    returning event_id"""


def test_init_warehouse_twice_changes_nothing(pg_dsn: str) -> None:
    # pg_dsn ran init_warehouse once already.
    with psycopg.connect(pg_dsn) as conn:
        conn.execute(
            "insert into raw.consumer_offsets (consumer_group, topic, partition, next_offset) "
            "values ('g', 't', 0, 42)"
        )
    before = snapshot(pg_dsn)
    assert {"raw", "quality", "marts"} <= {row[0] for row in before["schemas"]}
    assert {("raw", "community_events"), ("raw", "dead_letter_events")} <= {
        row[:2] for row in before["relations"]
    }
    assert [row[0] for row in before["roles"]] == sorted((*ROLES, BRAND_BI_ROLE))
    assert any(row[0] == "pulse_ingest" for row in before["table_grants"])

    init_warehouse(pg_dsn)
    after = snapshot(pg_dsn)

    for part in SNAPSHOT:
        assert after[part] == before[part], f"a second init changed {part}"
    with psycopg.connect(pg_dsn) as conn:
        kept = conn.execute("select next_offset from raw.consumer_offsets").fetchall()
    assert kept == [(42,)], "a second init must keep the data"


RAW_TABLES = ("community_events", "dead_letter_events", "consumer_offsets", "ingest_batches")


@pytest.mark.parametrize("table", RAW_TABLES)
def test_pulse_bi_cannot_read_raw(pg_dsn: str, table: str) -> None:
    assert denied(pg_dsn, "pulse_bi", f"select * from raw.{table} limit 1")


def test_pulse_bi_reads_marts_only(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        usage = conn.execute(
            "select n.nspname, has_schema_privilege('pulse_bi', n.nspname, 'USAGE') "
            "from pg_namespace n where n.nspname in ('raw', 'quality', 'marts') order by 1"
        ).fetchall()
    assert usage == [("marts", True), ("quality", False), ("raw", False)]
    assert denied(pg_dsn, "pulse_bi", "select * from raw.community_events")
    assert denied(pg_dsn, "pulse_bi", "create table marts.bi_scratch (i int)")


def test_pulse_ingest_can_insert_into_raw(pg_dsn: str) -> None:
    assert as_role(pg_dsn, "pulse_ingest", EVENT_ROW)
    assert as_role(
        pg_dsn,
        "pulse_ingest",
        "insert into raw.consumer_offsets (consumer_group, topic, partition, next_offset) "
        "values ('g', 't', 0, 1) on conflict (consumer_group, topic, partition) "
        "do update set next_offset = excluded.next_offset returning next_offset",
    ) == [(1,)]


@pytest.mark.parametrize(
    "statement",
    [
        "drop table raw.community_events",
        "drop table raw.consumer_offsets",
        "alter table raw.community_events add column member_id text",
        "alter table raw.dead_letter_events drop constraint dead_letter_events_reason_check",
        "truncate raw.community_events",
        "delete from raw.community_events",
        "update raw.community_events set payload = '{}'",
        "create table raw.scratch (i int)",
        "drop schema raw cascade",
        "create table marts.scratch (i int)",
        "select * from quality.validation_runs",
    ],
)
def test_pulse_ingest_cannot_drop_alter_or_leave_raw(pg_dsn: str, statement: str) -> None:
    assert denied(pg_dsn, "pulse_ingest", statement)


def test_pulse_transform_can_read_raw_but_not_write_it(pg_dsn: str) -> None:
    for table in RAW_TABLES:
        assert as_role(pg_dsn, "pulse_transform", f"select count(*) from raw.{table}") == [(0,)]
    assert denied(pg_dsn, "pulse_transform", EVENT_ROW)
    assert denied(pg_dsn, "pulse_transform", "delete from raw.community_events")
    assert denied(pg_dsn, "pulse_transform", "drop table raw.community_events")
    # dbt builds its own schemas.
    as_role(pg_dsn, "pulse_transform", "create schema dbt_scratch")


def _plant_build(dsn: str) -> None:
    """A build schema as dbt leaves one (owned by pulse_transform) and a marts view onto it as
    promote leaves one (owned by pulse_owner), without running dbt."""
    with psycopg.connect(dsn) as conn:
        conn.execute("set role pulse_transform")
        conn.execute("create schema build_roles_test")
        conn.execute("create table build_roles_test.dim_community as select 'c1'::text as id")
        conn.execute("set role pulse_owner")
        conn.execute(
            "create view marts.dim_community as select * from build_roles_test.dim_community"
        )
        conn.execute("grant select on marts.dim_community to pulse_bi")


@pytest.mark.parametrize(
    "statement",
    [
        "create view marts.leak as select * from raw.community_events",
        "create table marts.scratch (i int)",
        "drop view marts.dim_community",
        "create or replace view marts.dim_community as select 'x'::text as id",
        "alter view marts.dim_community rename to gone",
    ],
)
def test_pulse_transform_cannot_change_what_marts_exposes(pg_dsn: str, statement: str) -> None:
    _plant_build(pg_dsn)
    assert denied(pg_dsn, "pulse_transform", statement)


def test_pulse_transform_cannot_grant_bi_access_to_raw(pg_dsn: str) -> None:
    # A GRANT by a role without the grant option is a warning, not an error: commit it, then
    # check the effect.
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("set role pulse_transform")
        conn.execute("grant select on raw.community_events to pulse_bi")
    with psycopg.connect(pg_dsn) as conn:
        granted = conn.execute(
            "select has_table_privilege('pulse_bi', 'raw.community_events', 'SELECT')"
        ).fetchone()
    assert granted == (False,)


def test_only_pulse_owner_changes_marts_and_bi_reads_the_view_not_the_build(pg_dsn: str) -> None:
    _plant_build(pg_dsn)
    assert as_role(pg_dsn, "pulse_bi", "select id from marts.dim_community") == [("c1",)]
    for hidden in (
        "select * from build_roles_test.dim_community",
        "select * from quality.validation_runs",
        "select * from raw.community_events",
    ):
        assert denied(pg_dsn, "pulse_bi", hidden), hidden
    as_role(
        pg_dsn,
        "pulse_owner",
        "create or replace view marts.dim_community as "
        "select id from build_roles_test.dim_community",
    )


def test_nothing_new_is_readable_by_public_or_bi_unless_granted(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("set role pulse_transform")
        conn.execute("create schema build_default_test")
        conn.execute("create table build_default_test.t as select 1 as i")
        conn.execute(
            "create function build_default_test.f() returns int language sql as 'select 1'"
        )
    assert denied(pg_dsn, "pulse_bi", "select * from build_default_test.t")
    assert denied(pg_dsn, "pulse_ingest", "select build_default_test.f()")
    with psycopg.connect(pg_dsn) as conn:
        public_execute = conn.execute(
            "select has_function_privilege('public', 'build_default_test.f()', 'EXECUTE')"
        ).fetchone()
    assert public_execute == (False,)
