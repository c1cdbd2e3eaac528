"""The gate API under the module path it had before the package was split into modules.

`pulse.orchestration` and `pulse.cli` (and older tests) import from here; new code imports from
the package (`from pulse.quality import run_marts_gate`) or from the module that defines a name.
Nothing new is defined here.
"""

from pulse.paths import EXPECTATIONS_DIR
from pulse.quality.config import GateSettings
from pulse.quality.connection import sqlalchemy_url
from pulse.quality.gx import GX_DIR, import_gx
from pulse.quality.project import (
    MARTS_DSN_VARIABLE,
    RAW_DSN_VARIABLE,
    copy_project,
    render_project,
    stale_files,
    write_project,
)
from pulse.quality.results import GateFailed, GateResult, Outcome
from pulse.quality.rules import Layer
from pulse.quality.runner import default_interval, run_marts_gate, run_raw_gate
from pulse.quality.schemas import SCHEMA_NAME, check_schema_name, missing_marts

# bench/bench_gates.py times the library's import through this old private name.
_gx = import_gx

__all__ = [
    "EXPECTATIONS_DIR",
    "GX_DIR",
    "MARTS_DSN_VARIABLE",
    "RAW_DSN_VARIABLE",
    "SCHEMA_NAME",
    "GateFailed",
    "GateResult",
    "GateSettings",
    "Layer",
    "Outcome",
    "check_schema_name",
    "copy_project",
    "default_interval",
    "missing_marts",
    "render_project",
    "run_marts_gate",
    "run_raw_gate",
    "sqlalchemy_url",
    "stale_files",
    "write_project",
]
