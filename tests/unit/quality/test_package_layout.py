"""The quality package stays cheap to import: Great Expectations (seconds to import) is loaded
only when a gate runs or the project is rendered. Module sizes and import cycles are checked for
every package in tests/unit/test_architecture.py."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_package_does_not_import_great_expectations() -> None:
    code = "import sys, pulse.quality; print('great_expectations' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "False"
