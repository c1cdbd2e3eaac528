"""The structure stays true: small modules, no import cycles, thin DAG files, a self-contained
repository, and a README whose layout table is the tree.

`lint-imports` (make lint) checks the layers of pulse/ and that streaming/ imports nothing of it;
these tests check what import-linter cannot: cycles inside a package, the DAG files (not a
package), file sizes and documentation.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import grimp

from pulse.paths import DAGS_DIR, REPO_ROOT

MAX_MODULE_LINES = 500
# What a DAG file may import: Airflow, the DAGs' own helpers, and the orchestration entry points.
DAG_IMPORTS = re.compile(r"^(airflow(\..*)?|_common|pulse\.orchestration|pulse)$")


def tracked_files() -> list[str]:
    """The repository's files: tracked or about to be (not ignored), and present."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted({path for path in listed.stdout.split() if (REPO_ROOT / path).is_file()})


def test_no_module_of_pulse_or_streaming_is_over_500_lines() -> None:
    sizes = {
        path: len((REPO_ROOT / path).read_text().splitlines())
        for path in tracked_files()
        if path.endswith(".py") and path.startswith(("pulse/", "streaming/"))
    }
    assert sizes, "no module found"
    assert {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), lazy imports included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.find_modules_directly_imported_by(module):
            if target not in graph.modules:
                continue
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_there_is_no_import_cycle_lazy_imports_included() -> None:
    graph = grimp.build_graph("pulse", "streaming")
    # A package imports its own modules to re-export them; that is not a cycle of concerns.
    for module in list(graph.modules):
        for child in graph.find_children(module):
            if graph.direct_import_exists(importer=module, imported=child):
                graph.remove_import(importer=module, imported=child)
    assert _cycles(graph) == []


def test_dag_files_import_only_the_orchestration_entry_points() -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for path in sorted(DAGS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                if node.module == "pulse":
                    names = [f"pulse.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] in stdlib:
                    continue
                assert DAG_IMPORTS.match(name), f"{path.name} imports {name}"


def test_no_file_refers_to_documents_outside_the_repository() -> None:
    # The names are assembled from parts so that this file does not cite them itself.
    outside = ("DESIGN" + r"\.md", "ENV" + "-NOTES", "ENV" + "_NOTES")
    pattern = re.compile("|".join(outside))
    offending = [
        path
        for path in tracked_files()
        if (REPO_ROOT / path).is_file()
        and pattern.search((REPO_ROOT / path).read_text(errors="ignore"))
    ]
    assert offending == []


def _layout_table() -> dict[str, str]:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)
    return {row.rstrip("/"): row for row in rows}


def test_the_readme_layout_table_lists_exactly_the_tracked_tree() -> None:
    """Every top-level entry and every package of pulse/ is in the table, and nothing else."""
    files = tracked_files()
    expected = {path.split("/")[0] for path in files if not path.startswith(".")}
    expected |= {
        "/".join(path.split("/")[:2])
        for path in files
        if path.startswith("pulse/") and path.count("/") >= 2
    }
    expected |= {path for path in files if path.startswith("pulse/") and path.count("/") == 1} - {
        "pulse/__init__.py"
    }
    table = set(_layout_table())
    assert sorted(expected - table) == [], "tracked but not in the README's layout table"
    assert sorted(table - expected) == [], "in the README's layout table but not tracked"
