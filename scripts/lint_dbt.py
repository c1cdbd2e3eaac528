"""Lint the dbt project with SQLFluff's dbt templater, against a throwaway warehouse.

The dbt templater compiles every model, and compiling asks the warehouse questions
(`is_incremental()` looks the model's own relation up), so the linter needs a database that
`dbt_project/profiles.yml` can reach. This script needs nothing but the repository's own
tooling: it starts the embedded PostgreSQL the project already uses in a temporary folder,
creates the roles (the profile acts as pulse_transform), runs SQLFluff from `dbt_project/` (the
templater is read only from a `.sqlfluff` in the working directory) and stops the database.

It lints twice: first every model on the empty warehouse, where incremental models render their
full-refresh branch; then the incremental models once more, with an empty relation standing in
for the one they build and the variables of an incremental pipeline run (a model keeps state
only in such a run, see dbt_project/macros/incremental.sql), so that their
`{% if is_incremental() %}` branch is linted too.

    python scripts/lint_dbt.py            # sqlfluff lint .
    python scripts/lint_dbt.py fix        # sqlfluff fix . (both passes)
    python scripts/lint_dbt.py lint models/marts   # paths are relative to dbt_project/
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from pulse.local.stack import LocalStack
from pulse.orchestration.dbt import dbt_env
from pulse.settings import Settings
from pulse.warehouse.init import init_warehouse

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
BIN = Path(sys.executable).parent
# The variables of an incremental pipeline run (pulse.orchestration.build_plan.BuildPlan).
INCREMENTAL_VARS = {
    "arrived_from": "2026-01-01T00:00:00+00:00",
    "arrived_through": "2026-01-01T01:00:00+00:00",
    "deletions_from": 0,
    "deletions_through": 0,
    "base_build": "build_lint_base",
}


def _log(message: str, started: float) -> None:
    print(f"lint_dbt: {message} ({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)


def _incremental_models(env: dict[str, str]) -> list[dict[str, str]]:
    """schema, name and file of every incremental model, as dbt resolves them in an incremental
    pipeline run."""
    listed = subprocess.run(
        [
            str(BIN / "dbt"),
            "--quiet",
            "--no-use-colors",
            "ls",
            "--vars",
            json.dumps(INCREMENTAL_VARS),
            "--resource-type",
            "model",
            "--select",
            "config.materialized:incremental",
            "--output",
            "json",
            "--output-keys",
            "schema",
            "name",
            "original_file_path",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
        ],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]


def _stand_in_relations(dsn: str, models: list[dict[str, str]]) -> None:
    """An empty table where each incremental model builds: is_incremental() is then true."""
    with psycopg.connect(dsn) as conn:
        for model in models:
            schema, name = model["schema"], model["name"]
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("create table {} ()").format(sql.Identifier(schema, name)))


def main(argv: list[str]) -> int:
    command, *paths = argv or ["lint"]
    started = time.monotonic()
    state_dir = Path(tempfile.mkdtemp(prefix="pulse-lint-dbt-"))
    stack = LocalStack(state_dir)
    try:
        dsn = stack.up(kafka=False).pg_dsn
        init_warehouse(dsn)
        target = state_dir / "dbt-target"
        env = {
            **os.environ,
            **dbt_env(dsn, Settings()),
            # Artifacts of the lint stay out of dbt_project/target, which builds use.
            "DBT_TARGET_PATH": str(target),
            "DBT_LOG_PATH": str(target / "logs"),
        }
        _log("warehouse up", started)

        # Compiling each model is the slow part; the machines have two cores.
        sqlfluff = [str(BIN / "sqlfluff"), command, "--processes", "2"]
        first = subprocess.run([*sqlfluff, *(paths or ["."])], env=env, cwd=PROJECT_DIR)
        _log(f"sqlfluff {command}: every model", started)

        models = _incremental_models(env)
        wanted = [(PROJECT_DIR / path).resolve() for path in paths] or [PROJECT_DIR]
        files = [
            model["original_file_path"]
            for model in models
            if any((PROJECT_DIR / model["original_file_path"]).is_relative_to(w) for w in wanted)
        ]
        second_code = 0
        if files:
            _stand_in_relations(dsn, models)
            context = state_dir / "incremental.sqlfluff"
            context.write_text(
                "[sqlfluff:templater:dbt:context]\n"
                + "".join(f"{name} = {value}\n" for name, value in INCREMENTAL_VARS.items())
            )
            second_code = subprocess.run(
                [*sqlfluff, "--config", str(context), *files], env=env, cwd=PROJECT_DIR
            ).returncode
            _log(f"sqlfluff {command}: incremental branches of {', '.join(files)}", started)
        return first.returncode or second_code
    finally:
        stack.down(purge=True)
        _log("warehouse down", started)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
