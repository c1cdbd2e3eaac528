"""The ingest loop: poll, decode, batch, commit (see `PostgresSink.write` for the commit order).

Offsets live in Postgres beside the rows they cover. On assignment the consumer seeks to them; on
revocation it flushes what it holds; on an infrastructure error it retries the same batch with
backoff and never stores an offset for rows it has not stored. The effect is exactly-once in
`raw.*` across crashes, restarts and rebalances.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from streaming.dead_letters import DeadLetterPublisher
from streaming.decode import DeadLetter, Decoder
from streaming.errors import OffsetFenceError
from streaming.privacy import Pseudonymizer
from streaming.sink import Batch, BatchResult, PostgresSink

logger = logging.getLogger(__name__)

_BACKOFF_START_S = 0.2
_BACKOFF_MAX_S = 10.0
_POLL_TIMEOUT_MS = 200
_JOIN_WAIT_S = 20.0


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

    def add(self, result: BatchResult, reasons: list[str]) -> None:
        self.messages += result.messages
        self.inserted += result.inserted
        self.duplicates += result.duplicates
        self.dead_letters += result.dead_letters
        self.batches += 1
        for reason in reasons:
            self.dead_letters_by_reason[reason] = self.dead_letters_by_reason.get(reason, 0) + 1


def _retry(what: str, action: Callable[[], object], give_up: Callable[[], bool]) -> object:
    """Run `action` until it succeeds, backing off on infrastructure errors.

    Re-raises only when `give_up()` says so (a stop was requested during an outage); the caller
    then exits without storing anything it could not store.
    """
    delay = _BACKOFF_START_S
    while True:
        try:
            return action()
        except (psycopg.OperationalError, psycopg.InterfaceError, KafkaError) as error:
            if give_up():
                raise
            logger.warning("%s failed (%s); retrying in %.1f s", what, error, delay)
            time.sleep(delay)
            delay = min(delay * 2, _BACKOFF_MAX_S)


class IngestConsumer:
    """One consumer process of group `pulse-ingest`."""

    def __init__(self, config: IngestConfig) -> None:
        self.config = config
        self.report = IngestReport()
        self._stopping = threading.Event()
        self._decoder = Decoder(
            Pseudonymizer(config.pseudonym_key), timedelta(seconds=config.future_tolerance_s)
        )
        self._sink = PostgresSink(config.pg_dsn, config.group)  # used by the writer thread only
        self._offsets = PostgresSink(config.pg_dsn, config.group)  # used by this thread only
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulse-writer")
        self._inflight: tuple[Batch, Future[BatchResult]] | None = None
        self._last_logged = time.monotonic()
        self._dlq: DeadLetterPublisher | None = None
        self._consumer: KafkaConsumer | None = None
        # Per assigned partition: the offset stored in Postgres when we took it (None: no row).
        self._stored: dict[int, int | None] = {}
        self._batch = Batch(topic=config.topic)
        self._batch_started = time.monotonic()
        self._assigned_at = 0.0

    # -- control -------------------------------------------------------------------------------

    def request_stop(self, *_: object) -> None:
        """Finish the current batch, commit it and return from `run` (SIGTERM, SIGINT)."""
        self._stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    # -- main loop -----------------------------------------------------------------------------

    def run(self) -> IngestReport:
        started = time.monotonic()
        self._consumer = _retry("connecting to Kafka", self._connect, self._stopping.is_set)  # type: ignore[assignment]
        idle_since = time.monotonic()
        try:
            while not self._stopping.is_set() or self._joining(started):
                polled = self._consumer.poll(
                    timeout_ms=_POLL_TIMEOUT_MS, max_records=self.config.batch_max_events
                )
                if polled:
                    idle_since = time.monotonic()
                    for tp, records in polled.items():
                        self._add(tp.partition, records)
                if self._batch_due():
                    self._flush()
                idle = self.config.stop_when_idle_s
                # Idle time counts only once the group has given us partitions: joining is slow.
                idle_since = max(idle_since, self._assigned_at)
                waiting = self._assigned_at > 0 and time.monotonic() - idle_since >= (idle or 0)
                if idle is not None and not polled and waiting:
                    logger.info("nothing new for %.0f s: stopping", idle)
                    break
            self._flush()
            self._await_inflight()
        finally:
            self._close()
        self.report.seconds = time.monotonic() - started
        return self.report

    def _joining(self, started: float) -> bool:
        """True while a stop must wait for the first group join to finish.

        Tansu 0.6 wedges a consumer group for good when a member leaves in the middle of a join
        (every later join hangs), so a SIGTERM that lands during the join waits for it, up to
        `_JOIN_WAIT_S`. Apache Kafka does not need this; it costs nothing there.
        """
        return self._assigned_at == 0 and time.monotonic() - started < _JOIN_WAIT_S

    def _connect(self) -> KafkaConsumer:
        consumer = KafkaConsumer(
            bootstrap_servers=self.config.bootstrap,
            group_id=self.config.group,
            client_id=f"{self.config.group}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # Fast group joins and failure detection (docs/runbook.md: a join takes about 3 s
            # instead of 23 s).
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            max_poll_records=self.config.batch_max_events,
            # Bounded memory whatever the backlog: at most this much fetched and not yet used.
            fetch_max_bytes=16 * 1024 * 1024,
            max_partition_fetch_bytes=2 * 1024 * 1024,
        )
        if self._dlq is None:
            self._dlq = DeadLetterPublisher(self.config.bootstrap, self.config.dlq_topic)
        consumer.subscribe([self.config.topic], listener=_Rebalance(self))
        return consumer

    def _add(self, partition: int, records: list) -> None:
        batch = self._batch
        if batch.first_polled_at is None:
            batch.first_polled_at = datetime.now(UTC)
            self._batch_started = time.monotonic()
        now = datetime.now(UTC)
        for record in records:
            decoded = self._decoder.decode(
                record.topic,
                record.partition,
                record.offset,
                record.key,
                record.value,
                list(record.headers or []),
                now,
            )
            if isinstance(decoded, DeadLetter):
                batch.dead_letters.append(decoded)
            else:
                batch.events.append(decoded)
        batch.expected_offsets.setdefault(partition, self._stored.get(partition))
        batch.next_offsets[partition] = records[-1].offset + 1

    def _batch_due(self) -> bool:
        batch = self._batch
        if batch.messages == 0:
            return False
        return (
            batch.messages >= self.config.batch_max_events
            or time.monotonic() - self._batch_started >= self.config.batch_max_age_s
        )

    # -- commit --------------------------------------------------------------------------------

    def _flush(self, retry: bool = True) -> None:
        """Hand the current batch to the writer thread (see PostgresSink.write for the order of
        the steps) after the previous batch has committed.

        At most one batch is in flight while the next one is read and decoded: Postgres works on
        batch N while this thread decodes batch N+1, and memory stays bounded by two batches.
        With `retry`, infrastructure errors are retried until they pass or a stop is requested.
        """
        batch = self._batch
        self._await_inflight()
        if batch is not self._batch or not batch.next_offsets:
            return  # discarded by a fence while we waited, or empty
        give_up = self._stopping.is_set if retry else _always
        self._inflight = (batch, self._writer.submit(self._commit, batch, give_up))
        # The next batch starts where this one ends; if this one is fenced, both are discarded.
        self._stored.update(batch.next_offsets)
        self._batch = Batch(topic=self.config.topic)

    def _commit(self, batch: Batch, give_up: Callable[[], bool]) -> BatchResult:
        """Writer thread: dead letters to the DLQ topic, then the one Postgres transaction."""
        if batch.dead_letters:
            assert self._dlq is not None
            dlq, letters = self._dlq, batch.dead_letters
            _retry("publishing dead letters", lambda: dlq.publish(letters), give_up)
        return _retry(  # type: ignore[return-value]
            "writing the batch to Postgres", lambda: self._write(batch), give_up
        )

    def _await_inflight(self) -> None:
        """Wait for the batch in flight; account for it, or discard everything after a fence."""
        if self._inflight is None:
            return
        batch, future = self._inflight
        self._inflight = None
        try:
            result = future.result()
        except OffsetFenceError as error:
            logger.warning("batch discarded, another consumer took over: %s", error)
            self._batch = Batch(topic=self.config.topic)
            self._reseek()
            return
        self.report.add(result, [letter.reason for letter in batch.dead_letters])
        self._commit_to_kafka(batch.next_offsets)
        elapsed = max(time.monotonic() - self._last_logged, 1e-9)
        self._last_logged = time.monotonic()
        logger.info(
            "batch: %d messages, %d stored, %d duplicates, %d dead letters, %.0f msg/s",
            result.messages,
            result.inserted,
            result.duplicates,
            result.dead_letters,
            result.messages / elapsed,
        )

    def _write(self, batch: Batch) -> BatchResult:
        try:
            return self._sink.write(batch)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            self._sink.reset()
            raise

    def _commit_to_kafka(self, offsets: dict[int, int]) -> None:
        """For lag tools only: Postgres holds the offsets the consumer resumes from."""
        if self._consumer is None:
            return
        try:
            self._consumer.commit_async(
                {
                    TopicPartition(self.config.topic, partition): OffsetAndMetadata(offset, "", -1)
                    for partition, offset in offsets.items()
                }
            )
        except KafkaError as error:  # harmless: the next commit carries newer offsets
            logger.debug("kafka offset commit failed: %s", error)

    # -- rebalance -----------------------------------------------------------------------------

    def on_assigned(self, partitions: list[TopicPartition]) -> None:
        """Seek every new partition to the offset stored in Postgres (or its beginning)."""
        numbers = [tp.partition for tp in partitions]
        stored: dict[int, int] = _retry(  # type: ignore[assignment]
            "reading stored offsets",
            lambda: self._read_offsets(numbers),
            self._stopping.is_set,
        )
        for tp in partitions:
            offset = stored.get(tp.partition)
            self._stored[tp.partition] = offset
            if offset is None:
                self._consumer.seek_to_beginning(tp)  # type: ignore[union-attr]
            else:
                self._consumer.seek(tp, offset)  # type: ignore[union-attr]
        self._assigned_at = time.monotonic()
        logger.info("assigned %s; resuming from %s", sorted(numbers), stored or "the beginning")

    def on_revoked(self, partitions: list[TopicPartition]) -> None:
        """Commit what we hold before giving partitions up; if that fails, drop it (it is re-read
        by the new owner from the stored offsets, so nothing is lost)."""
        if not partitions:
            return
        try:
            # A revocation must not hold the group up: one attempt, no retries.
            self._flush(retry=False)
            self._await_inflight()
        except (psycopg.Error, KafkaError, OffsetFenceError) as error:
            logger.warning("could not flush on revocation (%s): batch left to the new owner", error)
            self._batch = Batch(topic=self.config.topic)
        for tp in partitions:
            self._stored.pop(tp.partition, None)

    def _read_offsets(self, partitions: list[int]) -> dict[int, int]:
        try:
            return self._offsets.stored_offsets(self.config.topic, partitions)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            self._offsets.reset()
            raise

    def _reseek(self) -> None:
        if self._consumer is None:
            return
        self.on_assigned(list(self._consumer.assignment()))

    def _close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close(autocommit=False)
            except KafkaError as error:
                logger.debug("closing the consumer: %s", error)
        if self._dlq is not None:
            self._dlq.close()
        self._writer.shutdown(wait=True)
        self._sink.close()
        self._offsets.close()


def _always() -> bool:
    return True


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: IngestConsumer) -> None:
        self._owner = owner

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._owner.on_revoked(list(revoked))

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._owner.on_assigned(list(assigned))


__all__ = ["IngestConfig", "IngestConsumer", "IngestReport"]
