"""What the ingest loop is given and what it reports (plain data, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from streaming.decode import DeadLetter
from streaming.sink import BatchResult
from streaming.topics import TopicSpec


@dataclass(frozen=True)
class IngestConfig:
    """What the loop needs; built from Settings and Endpoints by the entry point."""

    bootstrap: str
    pg_dsn: str
    pseudonym_key: str
    topic: str
    dlq_topic: str
    group: str
    batch_max_events: int = 5000
    batch_max_age_s: float = 1.0
    future_tolerance_s: float = 300.0
    stop_when_idle_s: float | None = None
    dlq_max_message_bytes: int = 5 * 1024 * 1024
    dlq_publish_timeout_s: float = 120.0
    statement_timeout_ms: int = 60_000
    lock_timeout_ms: int = 10_000
    request_timeout_ms: int = 30_000
    # Topics to create (or check against) before consuming; None: the caller made them.
    topics: Mapping[str, TopicSpec] | None = None
    # The Prometheus endpoint (streaming/metrics.py); None: not served.
    metrics_port: int | None = None
    metrics_host: str = "0.0.0.0"  # noqa: S104 - scraped from outside the host or container


@dataclass
class IngestReport:
    """Totals of one run of the loop."""

    messages: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    batches: int = 0
    seconds: float = 0.0
    dead_letters_by_reason: dict[str, int] = field(default_factory=dict)
    dlq_unpublished: int = 0
    revocation_flushes: int = 0
    fenced_batches: int = 0
    gaps: int = 0
    undecodable_batches: int = 0

    def add(self, result: BatchResult, letters: list[DeadLetter]) -> None:
        self.messages += result.messages
        self.inserted += result.inserted
        self.duplicates += result.duplicates
        self.dead_letters += result.dead_letters
        self.batches += 1
        for letter in letters:
            reason = letter.reason
            self.dead_letters_by_reason[reason] = self.dead_letters_by_reason.get(reason, 0) + 1
            self.dlq_unpublished += not letter.dlq_published
