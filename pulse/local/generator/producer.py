"""Sending generated messages to Kafka: `produce` and what it reports."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from kafka import KafkaProducer
from kafka.errors import KafkaError
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from pulse.errors import PulseError
from pulse.local.generator.config import MIB, GeneratedMessage


class ProduceError(PulseError):
    """The broker did not accept a generated message."""


@dataclass
class ProduceReport:
    """What `produce` sent.

    Attributes:
        sent: Messages sent per kind (`valid`, `duplicate`, `invalid`).
        invalid_by_reason: Invalid messages sent per expected dead-letter reason.
        seconds: Wall-clock time from the first send to the end of the final flush.
    """

    sent: dict[str, int] = field(default_factory=lambda: {"valid": 0, "duplicate": 0, "invalid": 0})
    invalid_by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def valid(self) -> int:
        return self.sent["valid"]

    @property
    def duplicate(self) -> int:
        return self.sent["duplicate"]

    @property
    def invalid(self) -> int:
        return self.sent["invalid"]

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def count(self, message: GeneratedMessage) -> None:
        """Add one sent message."""
        self.sent[message.kind] += 1
        if message.reason is not None:
            reasons = self.invalid_by_reason
            reasons[message.reason] = reasons.get(message.reason, 0) + 1

    def __str__(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.invalid_by_reason.items()))
        rate = self.total / self.seconds if self.seconds else 0.0
        return (
            f"{self.total:,} messages ({self.valid:,} valid, {self.duplicate:,} duplicate, "
            f"{self.invalid:,} invalid{': ' + reasons if reasons else ''}) "
            f"in {self.seconds:.1f} s ({rate:,.0f}/s)"
        )


def produce(
    messages: Iterable[GeneratedMessage],
    bootstrap: str,
    topic: str,
    *,
    show_progress: bool = True,
    total: int | None = None,
) -> ProduceReport:
    """Send messages to `topic`, keyed, uncompressed, and wait until all are acknowledged.

    Args:
        messages: What to send, in order (usually `generate(config)`).
        bootstrap: Kafka bootstrap servers.
        topic: Target topic.
        show_progress: Show a rich progress bar.
        total: Expected number of messages, for the progress bar.

    Returns:
        Counts of what was sent and how long it took.

    Raises:
        ProduceError: The broker rejected a message or could not be reached.
    """
    report = ProduceReport()
    failures: list[BaseException] = []  # filled by the producer's I/O thread
    try:
        # Tansu, the embedded broker, does not serve compressed batches: never compress here.
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=20,
            batch_size=262_144,
            max_request_size=4 * MIB,
            compression_type=None,
        )
    except KafkaError as error:
        raise ProduceError(f"cannot reach Kafka at {bootstrap}: {error}") from error
    progress = Progress(
        TextColumn("producing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not show_progress,
    )
    started = time.perf_counter()
    try:
        with progress:
            task = progress.add_task("produce", total=total)
            for message in messages:
                if failures:
                    break  # stop early; the error is raised below
                future = producer.send(topic, key=message.key, value=message.value)
                future.add_errback(failures.append)
                report.count(message)
                if report.total % 1000 == 0:
                    progress.update(task, completed=report.total)
            producer.flush()
            progress.update(task, completed=report.total)
    except KafkaError as error:
        raise ProduceError(f"could not produce to {topic}: {error}") from error
    finally:
        producer.close(timeout=30)  # after a failure, do not wait forever for the rest
    if failures:
        raise ProduceError(f"could not produce to {topic}: {failures[0]}") from failures[0]
    report.seconds = time.perf_counter() - started
    return report
