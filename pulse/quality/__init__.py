"""Quality gates: Great Expectations suites kept as code, the committed project made from them,
and the runner that validates the raw layer and each build's marts before BI sees them.

What is expected: `rules` (building blocks), `raw_suites`, `marts_suites` (with `mart_suite`, the
parts every mart's suites share, and `incident_suites`), `suites` (all of them).
The committed project: `project` (render/write/check/copy), `gx` (importing the library).
A gate run: `runner` (entry points), `config` (its knobs), `connection`, `schemas`, `checkpoint`,
`details`, `results` (what it found), `store` (quality.*). `python -m pulse.quality build|check`
is `__main__`.

The names below are the package's public API.
"""

from pulse.quality.config import GateSettings
from pulse.quality.project import copy_project, render_project, stale_files, write_project
from pulse.quality.results import GateFailed, GateResult, Outcome
from pulse.quality.runner import default_interval, run_marts_gate, run_raw_gate
from pulse.quality.schemas import check_schema_name
from pulse.quality.suites import all_suites

__all__ = [
    "GateFailed",
    "GateResult",
    "GateSettings",
    "Outcome",
    "all_suites",
    "check_schema_name",
    "copy_project",
    "default_interval",
    "render_project",
    "run_marts_gate",
    "run_raw_gate",
    "stale_files",
    "write_project",
]
