"""The project's own exceptions. The CLI turns them into one clear line and an exit code."""

from __future__ import annotations


class PulseError(Exception):
    """Something the user can act on; printed as one line, exit code 1."""


class StackNotRunning(PulseError):
    """The embedded stack was needed but is not set up or not running."""


class ConfigurationError(PulseError):
    """A setting is missing or contradicts another."""
