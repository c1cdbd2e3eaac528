"""A local Airflow for `pulse run` and the tests: SQLite metadata database, this repository's
dags/, no examples, no usage data sent anywhere."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pulse.errors import PulseError
from pulse.paths import DAGS_DIR

logger = logging.getLogger(__name__)


OPENLINEAGE_NAMESPACE = "community-pulse"


def openlineage_log(home: Path) -> Path:
    """Where a local Airflow's OpenLineage events go (one JSON event per line)."""
    return home.resolve() / "openlineage" / "events.jsonl"


def airflow_environment(home: Path) -> dict[str, str]:
    """Environment of an Airflow living in `home`: SQLite metadata database, this repository's
    dags/, no examples, no usage data sent anywhere, and the runs' OpenLineage events (lineage of
    every task: start, complete, fail) appended to a file under `home`."""
    home = home.resolve()
    lineage = openlineage_log(home)
    lineage.parent.mkdir(parents=True, exist_ok=True)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": OPENLINEAGE_NAMESPACE,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(lineage), "append": True}
        ),
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "False",
    }


def migrate_airflow_db(home: Path) -> None:
    """`airflow db migrate` for the Airflow in `home`, once per Airflow version.

    In this process when it is configured for `home` (a few seconds), else through the CLI.
    """
    from importlib.metadata import version

    home.mkdir(parents=True, exist_ok=True)
    marker = home / f".pulse-migrated-{version('apache-airflow')}"
    if marker.exists():
        return
    logger.info("creating the Airflow metadata database under %s", home)
    configured = os.environ.get("AIRFLOW_HOME")
    if configured and Path(configured).resolve() == home.resolve():
        from airflow.utils.db import upgradedb

        upgradedb()
    else:
        airflow = Path(sys.executable).with_name("airflow")
        command = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
        completed = subprocess.run(
            [*command, "db", "migrate"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **airflow_environment(home)},
        )
        if completed.returncode != 0:
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:]
            raise PulseError(f"airflow db migrate failed: {' '.join(tail) or 'no output'}")
    marker.touch()


def prepare_local_airflow(state_dir: Path) -> Path:
    """Select (and set up once) a local Airflow for this process; returns its AIRFLOW_HOME.

    An AIRFLOW_HOME already set is used as it is, with its own configuration and metadata
    database (which this does not migrate); otherwise the Airflow lives in the state folder
    (`.pulse/airflow`, SQLite) and its database is created on first use. Must run before anything
    imports `airflow`.
    """
    configured = os.environ.get("AIRFLOW_HOME")
    if configured:
        home = Path(configured)
        for name, value in airflow_environment(home).items():
            if name != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
                os.environ.setdefault(name, value)
        return home
    home = state_dir / "airflow"
    os.environ.update(airflow_environment(home))
    migrate_airflow_db(home)
    return home


def load_dag(dag_id: str) -> Any:
    """The DAG `dag_id` from this repository's dags/ (parsed as Airflow's dag-processor does)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=DAGS_DIR, bundle_path=DAGS_DIR, bundle_name="dags-folder")
    if bag.import_errors:
        first = next(iter(bag.import_errors.items()))
        raise PulseError(
            f"DAG files do not import: {first[0]}: {first[1].strip().splitlines()[-1]}"
        )
    if dag_id not in bag.dags:
        raise PulseError(f"no DAG {dag_id} in {DAGS_DIR.name}/")
    return bag.dags[dag_id]
