"""Exceptions of the streaming side."""

from __future__ import annotations

import psycopg
from kafka.errors import CorruptRecordError


class IngestError(Exception):
    """Base of the consumer's own errors."""


class OffsetFenceError(IngestError):
    """The offsets stored in Postgres moved under us: another consumer owns the partition now.

    The batch is rolled back and the consumer re-seeks to the stored offsets, so a zombie consumer
    (one the group already replaced) can never write a batch twice.
    """


class InfrastructureError(IngestError):
    """Postgres or the broker is unreachable; the caller retries with backoff."""


class KeyMismatchError(IngestError):
    """The pseudonym key is not the one the warehouse's member keys were made with.

    Ingesting with another key would split every member in two and make erasures by the old keys
    miss the new rows, so the consumer refuses to start (docs/runbook.md, "Key rotation").
    """


class MetricsEndpointError(IngestError):
    """The Prometheus endpoint cannot listen where it was told to (a port in use, say)."""


class DecompressionLimitError(IngestError, CorruptRecordError):
    """A compressed record batch expands past the bound the consumer holds in memory.

    Also a CorruptRecordError, so the Kafka client stops at that batch exactly as it does at a
    record it cannot parse; the consumer then reads the batch record by record with bounded
    memory.
    """


# Errors a retry can cure: the server away, restarting (admin shutdown), a standby after a
# failover (read-only transactions), a statement or lock timeout.
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg.errors.ReadOnlySqlTransaction,
)
