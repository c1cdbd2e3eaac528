"""The report's one error: it cannot be built."""

from __future__ import annotations

from pulse.errors import PulseError


class ReportError(PulseError):
    """The report cannot be built (no access as pulse_bi, or marts not published yet)."""
