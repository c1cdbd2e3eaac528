"""Fail when the virtual environment holds a version the lock (constraints.txt) does not.

`make install` runs this after installing with `pip -c constraints.txt`, so a fresh clone that
resolved anything differently from the lock stops there, with the differences listed.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "constraints.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")
# The installer's own tools and the project itself are not in the lock.
NOT_LOCKED = {"pip", "setuptools", "wheel", "community-pulse"}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> int:
    locked = {
        normalize(match.group(1)): match.group(2)
        for line in LOCK.read_text().splitlines()
        if (match := PIN.match(line))
    }
    installed = {
        normalize(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }
    differing = sorted(
        f"{name} {version} (lock: {locked[name]})"
        for name, version in installed.items()
        if name in locked and locked[name] != version
    )
    unlocked = sorted(n for n in installed if n not in locked and n not in NOT_LOCKED)
    if differing:
        print("installed versions differ from constraints.txt:", file=sys.stderr)
        for line in differing:
            print(f"  {line}", file=sys.stderr)
        return 1
    if unlocked:
        # Left over from an earlier install into the same environment; a fresh one has none.
        print(f"not in the lock (left over?): {', '.join(unlocked)}", file=sys.stderr)
    print(f"installed packages match the lock ({len(installed)} distributions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
