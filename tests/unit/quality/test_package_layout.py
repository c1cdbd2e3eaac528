"""The shape of the quality package: small modules, no import cycle, a cheap import, and the old
import paths other packages still use.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pulse.quality

PACKAGE = Path(pulse.quality.__file__).parent


def _internal_imports(path: Path) -> set[str]:
    """The package modules `path` imports at its top (`pulse.quality.<module>`)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulse.quality."):
            found.add(node.module.split(".")[2])
    return found


def test_no_module_is_over_500_lines() -> None:
    sizes = {path.name: len(path.read_text().splitlines()) for path in PACKAGE.glob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > 500} == {}


def test_modules_import_each_other_without_a_cycle() -> None:
    graph = {
        path.stem: _internal_imports(path)
        for path in PACKAGE.glob("*.py")
        if path.stem != "__init__"
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for imported in graph.get(module, ()):
            visit(imported, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


def test_importing_the_package_does_not_import_great_expectations() -> None:
    code = "import sys, pulse.quality; print('great_expectations' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "False"


def test_old_import_paths_still_resolve() -> None:
    from pulse.quality import gates
    from pulse.quality import suites as quality

    for name in (
        "GateFailed",
        "GateResult",
        "GateSettings",
        "Outcome",
        "check_schema_name",
        "copy_project",
        "default_interval",
        "render_project",
        "run_marts_gate",
        "run_raw_gate",
        "sqlalchemy_url",
        "stale_files",
        "EXPECTATIONS_DIR",
        "GX_DIR",
    ):
        assert hasattr(gates, name), name
    for name in (
        "RAW_EVENTS_ASSET",
        "RAW_VOLUME_ASSET",
        "RAW_CHECKPOINT",
        "MARTS_CHECKPOINT",
        "PARAM_MIN_GROUP_SIZE",
        "SuiteSpec",
        "all_suites",
        "raw_suites",
        "marts_suites",
    ):
        assert hasattr(quality, name), name
    assert gates.run_marts_gate is pulse.quality.run_marts_gate
