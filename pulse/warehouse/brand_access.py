"""Per-brand access to the marts: `pulse bi grant`, `pulse bi revoke`, `pulse bi list`.

A per-brand role reads the views of `marts` (as a member of pulse_brand_bi) and sees in them only
the rows of the brands `quality.brand_access` grants it (pulse.publishing.mart_views). It can read
nothing else: not raw, not quality, not the build schemas. pulse_bi keeps the all-brand view.

These run with an administrator's login (the one `pulse db init` uses): granting membership in
pulse_brand_bi, and creating a login, needs one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from pulse.errors import ConfigurationError
from pulse.warehouse.names import BI_ROLE, BRAND_BI_ROLE, ROLES

logger = logging.getLogger(__name__)


class BrandAccessRefused(ConfigurationError):
    """The role may not be made (or is not) a per-brand role."""


@dataclass(frozen=True)
class BrandGrant:
    """One role's access to one brand."""

    role_name: str
    brand_id: str
    granted_at: datetime
    granted_by: str


def grant_brand(dsn: str, *, brand_id: str, role: str, login_password: str | None = None) -> bool:
    """Let `role` see `brand_id`'s rows in every mart (idempotent).

    Args:
        dsn: an administrator's connection string.
        brand_id: the brand, as the marts' brand_id column has it.
        role: the per-brand role; it must exist unless `login_password` is given.
        login_password: create `role` as a login with this password when it does not exist.

    Returns:
        True when the grant is new, False when the role already had the brand.

    Raises:
        BrandAccessRefused: the role is missing, is one of the pipeline's roles, a superuser,
            or a member of pulse_bi (it would see every brand, whatever is granted).
    """
    if not brand_id.strip():
        raise BrandAccessRefused("a brand id is needed (the marts' brand_id)")
    with psycopg.connect(dsn) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
        if exists is None and login_password is None:
            raise BrandAccessRefused(
                f"role {role} does not exist: create it (a login, or a group your analysts' "
                "logins are members of), or let `pulse bi grant` create a login for it "
                "(--create-login, password from PULSE_BRAND_ROLE_PASSWORD)"
            )
        if exists is None:
            conn.execute(
                sql.SQL("create role {} login password {}").format(
                    sql.Identifier(role), sql.Literal(login_password)
                )
            )
        _refuse_unless_brand_only(conn, role)
        conn.execute(
            sql.SQL("grant {} to {}").format(sql.Identifier(BRAND_BI_ROLE), sql.Identifier(role))
        )
        row = conn.execute(
            "insert into quality.brand_access (role_name, brand_id) values (%s, %s) "
            "on conflict (role_name, brand_id) do nothing returning 1",
            [role, brand_id],
        ).fetchone()
    if row is not None:
        logger.info("role %s now sees brand %s in marts", role, brand_id)
    return row is not None


def revoke_brand(dsn: str, *, brand_id: str, role: str) -> bool:
    """Take `brand_id` away from `role`; a role left with no brand leaves pulse_brand_bi too.

    Returns:
        True when the role had the brand.
    """
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "delete from quality.brand_access where role_name = %s and brand_id = %s returning 1",
            [role, brand_id],
        ).fetchone()
        left = conn.execute(
            "select count(*) from quality.brand_access where role_name = %s", [role]
        ).fetchone()
        member = conn.execute(
            "select pg_has_role(%s, %s, 'MEMBER') from pg_roles where rolname = %s",
            [role, BRAND_BI_ROLE, role],
        ).fetchone()
        if left is not None and left[0] == 0 and member is not None and member[0]:
            conn.execute(
                sql.SQL("revoke {} from {}").format(
                    sql.Identifier(BRAND_BI_ROLE), sql.Identifier(role)
                )
            )
    if row is not None:
        logger.info("role %s no longer sees brand %s in marts", role, brand_id)
    return row is not None


def brand_grants(dsn: str, *, brand_id: str | None = None) -> list[BrandGrant]:
    """Every grant (of one brand, when given), by brand then role."""
    query = (
        "select role_name, brand_id, granted_at, granted_by from quality.brand_access "
        "where %(brand)s::text is null or brand_id = %(brand)s order by brand_id, role_name"
    )
    with psycopg.connect(dsn) as conn:
        return [BrandGrant(*row) for row in conn.execute(query, {"brand": brand_id})]


def brand_only_roles(dsn: str, brand_id: str) -> list[str]:
    """The existing roles granted `brand_id` and no other brand, by name (a brand's report reads
    as one of them). Needs a login that may read quality (the operator's)."""
    with psycopg.connect(dsn) as conn:
        return [
            row[0]
            for row in conn.execute(
                "select access.role_name from quality.brand_access as access "
                "join pg_roles on pg_roles.rolname = access.role_name "
                "group by access.role_name having count(*) = 1 and min(access.brand_id) = %s "
                "order by access.role_name",
                [brand_id],
            )
        ]


def _refuse_unless_brand_only(conn: psycopg.Connection, role: str) -> None:
    if role in (*ROLES, BRAND_BI_ROLE):
        raise BrandAccessRefused(f"{role} is one of the pipeline's own roles, not a brand's")
    row = conn.execute(
        "select rolsuper, pg_has_role(oid, %s, 'MEMBER') from pg_roles where rolname = %s",
        [BI_ROLE, role],
    ).fetchone()
    if row is not None and (row[0] or row[1]):
        what = "a superuser" if row[0] else f"a member of {BI_ROLE}"
        raise BrandAccessRefused(
            f"role {role} is {what} and sees every brand in marts whatever is granted; use a "
            "role of its own for one brand"
        )
