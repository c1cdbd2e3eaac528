"""The views of schema `marts`: what BI reads, one per mart, each filtered by brand.

A view shows its build's mart row for row to a member of pulse_bi (the operator's all-brand
login) and, to anyone else allowed to read it (the per-brand roles, through pulse_brand_bi), only
the rows of the brands `quality.brand_access` grants to a role the reader is a member of: rows of
other brands, and rows whose brand is not known yet, are not there for them.

Why a filter in the view and not a table policy: a view reads its tables with its owner's rights
(pulse_owner), so PostgreSQL's row-level policies on the build tables would be checked against
the owner, never against the reader; `current_user` inside the view is the reader. The views are
`security_barrier`, so a reader's own functions in a WHERE clause never see a row the filter
removes. The grants live in schema quality, which no BI role can read: the view reads them with
its owner's rights.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from pulse.warehouse.names import BI_ROLE, BRAND_BI_ROLE, MARTS_SCHEMA

# `select pg_has_role(...)` as a scalar subquery runs once per query, not once per row; the brand
# list is an uncorrelated subquery, hashed once too. pg_roles is joined so that a granted role
# dropped since (outside `pulse bi revoke`) matches nobody instead of failing every read.
_VIEW = """
create view {view} with (security_barrier) as
select *
from {mart} as mart
where
    (select pg_catalog.pg_has_role(current_user, {bi_role}, 'MEMBER'))
    or mart.brand_id in (
        select access.brand_id
        from quality.brand_access as access
        inner join pg_catalog.pg_roles as grantee
            on access.role_name = grantee.rolname
        where pg_catalog.pg_has_role(current_user, grantee.oid, 'MEMBER')
    )
"""


def replace_mart_view(
    conn: psycopg.Connection, mart: str, build_schema: str, *, comment: str
) -> None:
    """(Re)create `marts.<mart>` onto `build_schema.<mart>`, readable by the BI roles.

    Drop and create rather than CREATE OR REPLACE: a build may add or retype columns (its dbt
    contract changed), which REPLACE refuses. Run it inside the caller's transaction, as the
    owner of schema marts.
    """
    view = sql.Identifier(MARTS_SCHEMA, mart)
    conn.execute(sql.SQL("drop view if exists {}").format(view))
    conn.execute(
        sql.SQL(_VIEW).format(
            view=view,
            mart=sql.Identifier(build_schema, mart),
            bi_role=sql.Literal(BI_ROLE),
        )
    )
    conn.execute(
        sql.SQL("grant select on {} to {}, {}").format(
            view, sql.Identifier(BI_ROLE), sql.Identifier(BRAND_BI_ROLE)
        )
    )
    conn.execute(sql.SQL("comment on view {} is {}").format(view, sql.Literal(comment)))
