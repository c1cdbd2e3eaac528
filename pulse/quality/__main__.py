"""`python -m pulse.quality build|check`: regenerate, or check, the committed GX project."""

from __future__ import annotations

import sys

from pulse.quality.project import stale_files, write_project


def main(argv: list[str] | None = None) -> int:
    """`python -m pulse.quality build` rewrites the project; `check` exits 1 when it drifted.

    Args:
        argv: the arguments (default: the process's, without the program name).

    Returns:
        The exit status: 0 done or up to date, 1 out of date, 2 usage error.
    """
    args = sys.argv[1:] if argv is None else argv
    if args not in (["build"], ["check"]):
        print("usage: python -m pulse.quality build|check", file=sys.stderr)
        return 2
    if args == ["build"]:
        changed = write_project()
        print(f"expectations: {len(changed)} file(s) written or removed")
        for name in changed:
            print(f"  {name}")
        return 0
    stale = stale_files()
    if stale:
        print("expectations out of date: " + ", ".join(stale), file=sys.stderr)
        print("run `python -m pulse.quality build`", file=sys.stderr)
        return 1
    print("expectations up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
