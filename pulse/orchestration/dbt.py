"""`pulse transform`: run the dbt project (staging -> intermediate -> marts) against the warehouse.

dbt runs as a child process of this interpreter's environment, so its global state (adapters,
flags, logging) never leaks into the caller and a failing build cannot take the caller down.
Connection details reach dbt only through `PULSE_*` environment variables, which
`dbt_project/profiles.yml` reads; they are never written to a file.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from pulse.errors import PulseError
from pulse.paths import DBT_PROJECT_DIR
from pulse.runtime import warehouse_dsn
from pulse.settings import Settings

logger = logging.getLogger(__name__)


# Lines of dbt's console output that say what went wrong, most specific first.
_FAILURE_PATTERNS = (
    re.compile(r"^(Failure in .*)$"),
    re.compile(r"^((?:Runtime|Compilation|Database|Parsing) Error.*)$"),
    re.compile(r"^(Error in .*)$"),
    re.compile(r"^(Done\. .*ERROR=[1-9].*)$"),
)
# dbt prefixes its console lines with a clock.
_CLOCK = re.compile(r"^\d{2}:\d{2}:\d{2}\s+")


def dbt_env(dsn: str, settings: Settings) -> dict[str, str]:
    """The environment variables `dbt_project/profiles.yml` reads, derived from a DSN.

    Args:
        dsn: libpq connection string or URI of the warehouse.
        settings: the run's settings (minimum group size).

    Returns:
        `PULSE_PG_*` (`PULSE_PG_SSLMODE` only when the DSN sets one), `PULSE_MIN_GROUP_SIZE`,
        the incident rule's settings (`incident_env`), the rising topics rule's (`topic_env`)
        and `DO_NOT_TRACK=1`; merge it over `os.environ`.
    """
    params = conninfo_to_dict(dsn)
    env = {
        "PULSE_PG_HOST": str(params.get("host") or params.get("hostaddr") or "localhost"),
        "PULSE_PG_PORT": str(params.get("port") or "5432"),
        "PULSE_PG_USER": str(params.get("user") or "postgres"),
        "PULSE_PG_PASSWORD": str(params.get("password") or ""),
        "PULSE_PG_DATABASE": str(params.get("dbname") or params.get("user") or "postgres"),
        "PULSE_MIN_GROUP_SIZE": str(settings.min_group_size),
        **incident_env(settings),
        **topic_env(settings),
        # dbt sends usage data to an outside host unless told not to.
        "DO_NOT_TRACK": "1",
    }
    # A multi-host DSN lists hosts and ports comma-separated; dbt-postgres takes one of each.
    for name in ("PULSE_PG_HOST", "PULSE_PG_PORT"):
        env[name] = env[name].split(",")[0]
    if params.get("sslmode"):
        env["PULSE_PG_SSLMODE"] = str(params["sslmode"])
    return env


def incident_env(settings: Settings) -> dict[str, str]:
    """The settings of the incident rule, as the environment variables dbt_project.yml reads
    (the dbt vars incident_*): the settings' values, validated, never dbt's own defaults."""
    names = (
        "incident_significance",
        "incident_min_count",
        "incident_min_effect",
        "incident_window_days",
        "incident_resolve_after_days",
        "incident_critical_ratio",
        "incident_min_days_held",
        "alert_baseline_days",
        "alert_min_baseline_days",
        "alert_idea_unanswered_days",
    )
    return {f"PULSE_{name.upper()}": repr(getattr(settings, name)) for name in names}


def topic_env(settings: Settings) -> dict[str, str]:
    """The settings of the topic marts' rising rule, as the environment variables
    dbt_project.yml reads (the dbt vars topic_rising_*): the settings' values, validated."""
    names = ("topic_rising_min_posts", "topic_rising_min_change")
    return {f"PULSE_{name.upper()}": repr(getattr(settings, name)) for name in names}


def _dbt_command() -> list[str]:
    """The `dbt` of this interpreter's environment, else the one on PATH."""
    local = Path(sys.executable).with_name("dbt")
    if local.exists():
        return [str(local)]
    found = shutil.which("dbt")
    if found is None:
        raise PulseError("dbt is not installed in this environment (pip install dbt-postgres)")
    return [found]


def _failure_summary(output: str) -> str:
    """The first failure dbt reports, with its first line of detail, as one line."""
    lines = [_CLOCK.sub("", line).strip().lstrip(">").strip() for line in output.splitlines()]
    for pattern in _FAILURE_PATTERNS:
        for index, line in enumerate(lines):
            match = pattern.match(line)
            if match:
                detail = next((later for later in lines[index + 1 :] if later), "")
                return f"{match.group(1)}: {detail}" if detail else match.group(1)
    tail = [line for line in lines if line]
    return tail[-1] if tail else "no output"


def run_dbt(
    args: list[str],
    dsn: str,
    settings: Settings,
    *,
    target_path: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> str:
    """Run one dbt command (e.g. `["build"]`) on the project against the warehouse at `dsn`.

    Args:
        args: dbt sub-command and its options.
        dsn: warehouse connection string; dbt connects with it and then acts as pulse_transform.
        settings: the run's settings.
        target_path: where dbt writes artifacts and logs (default: dbt_project/target and /logs);
            give concurrent runs their own.
        extra_env: more environment for dbt (e.g. `PULSE_DBT_THREADS`).

    Returns:
        dbt's console output.

    Raises:
        PulseError: dbt failed; the message is one line naming the first failure.
    """
    env = {**os.environ, **dbt_env(dsn, settings), **(extra_env or {})}
    command = [
        *_dbt_command(),
        "--no-use-colors",
        "--no-version-check",
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
    ]
    if target_path is not None:
        # As environment, not flags: every sub-command reads them, also those without the flag.
        env["DBT_TARGET_PATH"] = str(target_path)
        env["DBT_LOG_PATH"] = str(target_path / "logs")
    logger.info("running dbt %s", " ".join(args))
    completed = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, cwd=DBT_PROJECT_DIR
    )
    output = completed.stdout + completed.stderr
    for line in output.splitlines():
        logger.debug("dbt: %s", line)
    if completed.returncode != 0:
        raise PulseError(f"dbt {args[0] if args else ''} failed: {_failure_summary(output)}")
    return output


def transform(settings: Settings, *, full_refresh: bool = False) -> str:
    """`pulse transform`: `dbt build` against the configured, else the embedded, warehouse.

    Args:
        settings: the run's settings; `pg_dsn` unset means the embedded stack.
        full_refresh: rebuild incremental models from scratch.

    Returns:
        dbt's console output.
    """
    # Only the warehouse is needed here (not the broker, nor the pseudonym key).
    dsn = warehouse_dsn(settings)
    args = ["build", *(["--full-refresh"] if full_refresh else [])]
    return run_dbt(args, dsn, settings)
