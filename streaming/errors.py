"""Exceptions of the streaming side."""

from __future__ import annotations


class IngestError(Exception):
    """Base of the consumer's own errors."""


class OffsetFenceError(IngestError):
    """The offsets stored in Postgres moved under us: another consumer owns the partition now.

    The batch is rolled back and the consumer re-seeks to the stored offsets, so a zombie consumer
    (one the group already replaced) can never write a batch twice.
    """


class InfrastructureError(IngestError):
    """Postgres or the broker is unreachable; the caller retries with backoff."""
