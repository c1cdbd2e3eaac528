"""Every suite the gates run, in one list.

What is expected lives in `pulse.quality.raw_suites` and `pulse.quality.marts_suites`, built from
the blocks of `pulse.quality.rules`; `pulse.quality.project` turns `all_suites()` into the
committed Great Expectations project (`python -m pulse.quality build`) and `pulse.quality.runner`
runs it.
"""

from __future__ import annotations

from pulse.quality.marts_suites import marts_suites
from pulse.quality.raw_suites import raw_suites
from pulse.quality.rules import SuiteSpec


def all_suites() -> list[SuiteSpec]:
    """Every suite of both gates.

    Returns:
        The raw suites, then the marts suites.
    """
    return [*raw_suites(), *marts_suites()]
