"""Installed size of the package per extra: a fresh virtual environment for each, from the lock.

    python bench/install_sizes.py            # core, local, pipeline, and everything with dev

Prints the size of each environment's site-packages and the number of distributions, so the
consumer image's footprint (core only) can be compared with the pipeline's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = {
    "core (ingest)": "",
    "local": "local",
    "pipeline": "pipeline",
    "pipeline + celery (Airflow image)": "pipeline,celery",
    "all + dev": "local,pipeline,dev",
}


def tree_size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            file = Path(folder, name)
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def measure(label: str, extras: str, workdir: Path) -> tuple[str, float, int, float]:
    venv = workdir / (extras.replace(",", "-") or "core")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            str(ROOT / "constraints.txt"),
            target,
        ],
        check=True,
    )
    seconds = time.perf_counter() - started
    site = next((venv / "lib").glob("python3*/site-packages"))
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    )
    return label, tree_size(site) / 2**20, len(listed.stdout.splitlines()), seconds


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory(prefix="pulse-sizes-") as scratch:
        rows = [measure(label, extras, Path(scratch)) for label, extras in EXTRAS.items()]
    print(f"{'extra':<16}{'site-packages':>16}{'distributions':>16}{'install':>10}")
    for label, mib, count, seconds in rows:
        print(f"{label:<16}{mib:>12.0f} MiB{count:>16}{seconds:>9.0f}s")


if __name__ == "__main__":
    main()
