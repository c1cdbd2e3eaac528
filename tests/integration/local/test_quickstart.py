"""The README's "Quick start by hand" runs exactly as written, line by line, in one shell.

The block is read from README.md itself, so the test and the page cannot drift apart. Two
things differ from a reader's terminal, both outside the block: the shell starts in a clean
environment (no PULSE_* variables, its own state folder, so a developer's `.pulse/` is never
touched) and the generated traffic is smaller (20,000 events instead of 200,000) to keep the
suite fast; every command, flag and `eval` is the README's.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from pulse.paths import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

README = REPO_ROOT / "README.md"


def quick_start_lines() -> list[str]:
    section = README.read_text().split("## Quick start by hand", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert block, "no bash block under 'Quick start by hand'"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_quick_start_block_has_the_commands_a_reader_needs() -> None:
    commands = " ".join(quick_start_lines())
    for step in ("pulse up", "pulse db init", "pulse generate", "pulse consume", "pulse run"):
        assert step in commands, step
    assert not re.search(r"\d{4}-\d{2}-\d{2}", commands), "fixed dates go stale as days pass"


def test_the_quick_start_runs_as_written_in_one_shell(tmp_path: Path) -> None:
    lines = [line.replace("--events 200000", "--events 20000") for line in quick_start_lines()]
    # Each line echoed before it runs, so a failure names the line; -e stops at the first one.
    script = "set -euo pipefail\n" + "".join(
        f"echo '+ {line.split('#')[0].strip()}' >&2\n{line}\n" for line in lines
    )
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PULSE_", "AIRFLOW"))
    }
    environment.update(PULSE_STATE_DIR=str(tmp_path / ".pulse"), HOME=str(tmp_path))
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    ran = [line for line in done.stderr.splitlines() if line.startswith("+ ")]
    tail = done.stderr[-4000:] + done.stdout[-2000:]
    try:
        assert done.returncode == 0, f"stopped at {ran[-1] if ran else 'the start'}\n{tail}"
        assert len(ran) == len(lines), tail
        assert "run succeeded" in done.stderr, tail
    finally:
        subprocess.run(
            [str(REPO_ROOT / ".venv" / "bin" / "pulse"), "down", "--purge"],
            env=environment,
            capture_output=True,
            check=False,
        )
