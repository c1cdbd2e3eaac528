"""Where the project's own folders are: the repository this package is installed from.

The package is installed editable (`pip install -e .`), so the dbt project, the Great
Expectations project and the DAG files are found beside it rather than copied into it.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
DAGS_DIR = REPO_ROOT / "dags"

# Where `pulse report` and the demo write the HTML report, relative to the working directory.
DEFAULT_REPORT_PATH = Path("reports/community-pulse.html")
