"""Warehouse administration: `pulse db ...`."""

from __future__ import annotations

from typing import Annotated

import typer

from pulse.cli.app import console, db_app, friendly, load_settings


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
