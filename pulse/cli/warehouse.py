"""Warehouse administration: `pulse db ...`, and who sees which brand: `pulse bi ...`."""

from __future__ import annotations

from typing import Annotated

import typer

from pulse.cli.app import bi_app, console, db_app, friendly, load_settings, out


@db_app.command("init")
@friendly
def db_init(
    rotate_key: Annotated[
        bool,
        typer.Option(
            "--rotate-key",
            help=(
                "Accept PULSE_PSEUDONYM_KEY although the warehouse records another key: every "
                "member key changes (docs/runbook.md, Key rotation)."
            ),
        ),
    ] = False,
) -> None:
    """Create schemas, raw tables and roles (idempotent) and record the pseudonym key's
    fingerprint. Role passwords: PULSE_*_PASSWORD."""
    import os

    from pulse.runtime import resolve_endpoints
    from pulse.warehouse.init import ROLES, init_warehouse

    endpoints = resolve_endpoints(load_settings())
    passwords = {
        role: os.environ[f"PULSE_{role.removeprefix('pulse_').upper()}_PASSWORD"]
        for role in ROLES
        if os.environ.get(f"PULSE_{role.removeprefix('pulse_').upper()}_PASSWORD")
    }
    init_warehouse(
        endpoints.pg_dsn, passwords, pseudonym_key=endpoints.pseudonym_key, rotate_key=rotate_key
    )
    console.print(
        "[green]warehouse ready[/green]: schemas raw, quality, marts; roles " + ", ".join(ROLES)
    )


BrandOption = Annotated[str, typer.Option("--brand", help="The brand, as the marts' brand_id.")]
RoleOption = Annotated[str, typer.Option("--role", help="The per-brand PostgreSQL role.")]


@bi_app.command("grant")
@friendly
def bi_grant(
    brand: BrandOption,
    role: RoleOption,
    create_login: Annotated[
        bool,
        typer.Option(
            "--create-login",
            help="Create the role as a login when it does not exist, with the password in "
            "PULSE_BRAND_ROLE_PASSWORD.",
        ),
    ] = False,
) -> None:
    """Let a role read one brand's rows in every mart (and nothing else). Run it with an
    administrator's login (the one `pulse db init` uses)."""
    import os

    from pulse.errors import ConfigurationError
    from pulse.runtime import resolve_endpoints
    from pulse.warehouse.brand_access import grant_brand

    password = None
    if create_login:
        password = os.environ.get("PULSE_BRAND_ROLE_PASSWORD")
        if not password:
            raise ConfigurationError(
                "--create-login needs the password in PULSE_BRAND_ROLE_PASSWORD"
            )
    endpoints = resolve_endpoints(load_settings())
    new = grant_brand(endpoints.pg_dsn, brand_id=brand, role=role, login_password=password)
    state = "now sees" if new else "already saw"
    console.print(f"[green]{role}[/green] {state} brand {brand} in marts")


@bi_app.command("revoke")
@friendly
def bi_revoke(brand: BrandOption, role: RoleOption) -> None:
    """Take a brand away from a role; a role left with no brand can read marts no more."""
    from pulse.runtime import resolve_endpoints
    from pulse.warehouse.brand_access import revoke_brand

    endpoints = resolve_endpoints(load_settings())
    had = revoke_brand(endpoints.pg_dsn, brand_id=brand, role=role)
    state = "no longer sees" if had else "did not see"
    console.print(f"[green]{role}[/green] {state} brand {brand} in marts")


@bi_app.command("list")
@friendly
def bi_list(
    brand: Annotated[str | None, typer.Option("--brand", help="Only this brand.")] = None,
) -> None:
    """The per-brand grants: brand, role, when and by whom (tab-separated on stdout)."""
    from pulse.runtime import resolve_endpoints
    from pulse.warehouse.brand_access import brand_grants

    endpoints = resolve_endpoints(load_settings())
    for grant in brand_grants(endpoints.pg_dsn, brand_id=brand):
        out.print(
            f"{grant.brand_id}\t{grant.role_name}\t{grant.granted_at.isoformat()}\t"
            f"{grant.granted_by}",
            highlight=False,
        )
