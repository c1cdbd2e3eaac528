"""What the pipeline shows: `pulse demo`, `report`, `schemas`, `docs`."""

from __future__ import annotations

from typing import Annotated

import typer

from pulse.cli.app import app, console, friendly, load_settings, out
from pulse.errors import PulseError
from pulse.paths import DEFAULT_REPORT_PATH


@app.command()
@friendly
def demo(
    events: Annotated[int, typer.Option(help="About this many valid events.", min=1000)] = 200_000,
    days: Annotated[int, typer.Option(help="Days of activity, ending today (UTC).", min=7)] = 60,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 42,
    plant_incidents: Annotated[
        bool,
        typer.Option(
            "--plant-incidents",
            help="Plant incidents with known windows and show the recall and precision of the "
            "incidents found (needs --days >= 30).",
        ),
    ] = False,
) -> None:
    """Run the whole pipeline on the embedded services and print a summary (`make demo`)."""
    from pulse.local.demo import render, run_demo
    from pulse.local.generator.config import PLANT_MIN_DAYS

    if plant_incidents and days < PLANT_MIN_DAYS:
        raise typer.BadParameter(
            f"planting incidents needs --days >= {PLANT_MIN_DAYS}", param_hint="--days"
        )
    summary = run_demo(
        load_settings(),
        console,
        events=events,
        days=days,
        seed=seed,
        plant_incidents=plant_incidents,
    )
    render(summary, out)


@app.command()
@friendly
def report(
    out_path: Annotated[
        str, typer.Option("--out", "-o", help="Where to write the HTML page (folders are made).")
    ] = str(DEFAULT_REPORT_PATH),
    brand: Annotated[
        str | None,
        typer.Option(
            "--brand",
            help="One brand's report, read as the role `pulse bi grant` gave that brand alone "
            "(it sees that brand's rows only); without it, every brand as pulse_bi.",
        ),
    ] = None,
    role: Annotated[
        str | None,
        typer.Option("--role", help="With --brand: the role to read as (else looked up)."),
    ] = None,
) -> None:
    """Write a self-contained HTML report with charts of what BI sees (marts, read as pulse_bi,
    or as one brand's role)."""
    from pathlib import Path

    from pulse.errors import ConfigurationError
    from pulse.report import build_report
    from pulse.runtime import warehouse_dsn

    if role is not None and brand is None:
        raise ConfigurationError("--role goes with --brand (a brand's report)")
    settings = load_settings()
    with console.status("building the report..."):
        summary = build_report(
            warehouse_dsn(settings), Path(out_path), settings=settings, brand=brand, role=role
        )
    console.print(f"[green]report[/green]: {summary.describe()}")
    if summary.empty_charts:
        console.print(
            "[yellow]warning:[/yellow] no data yet for " + ", ".join(summary.empty_charts)
        )
    out.print(str(summary.path), highlight=False)


@app.command()
@friendly
def schemas(
    write: Annotated[bool, typer.Option(help="Rewrite the committed schema files.")] = False,
) -> None:
    """Check (or --write) the committed JSON Schemas of every topic against the models."""
    from streaming.schemas import expected_files, write_schemas

    if write:
        changed = write_schemas()
        console.print(f"[green]schemas[/green]: {len(changed)} file(s) rewritten")
        return
    stale = [
        p.name for p, text in expected_files().items() if not p.exists() or p.read_text() != text
    ]
    if stale:
        raise PulseError(f"schemas out of date: {', '.join(stale)}; run `pulse schemas --write`")
    console.print("[green]schemas up to date[/green]")


@app.command()
@friendly
def docs(
    write: Annotated[bool, typer.Option(help="Rewrite the generated block of README.md.")] = False,
) -> None:
    """Check (or --write) README.md's configuration reference against the settings class."""
    from pathlib import Path

    from pulse.docs import render_readme, write_readme

    readme = Path("README.md")
    if not readme.exists():
        raise PulseError("README.md not found: run this from the repository root")
    if write:
        changed = write_readme(readme)
        console.print("[green]README.md[/green] " + ("updated" if changed else "already current"))
    elif render_readme(readme.read_text()) != readme.read_text():
        raise PulseError("README.md's configuration reference is stale: run `pulse docs --write`")
    else:
        console.print("[green]README.md configuration reference is current[/green]")
