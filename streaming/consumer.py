"""The ingest loop: poll, decode, batch, commit (see `PostgresSink.write` for the commit order).

Offsets live in Postgres beside the rows they cover. A newly assigned partition is paused until
its stored offset has been read (in the loop, not in the rebalance callback: callbacks run on the
client's IO thread and hold up heartbeats), checked for a gap and sought to; on revocation the
consumer flushes what it holds within a bound; on an infrastructure error it retries the same
batch with backoff and never stores an offset for rows it has not stored. The effect is
exactly-once in `raw.*` across crashes, restarts and rebalances.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.errors import (
    CorruptRecordError,
    KafkaError,
    LogTruncationError,
    NoOffsetForPartitionError,
    OffsetOutOfRangeError,
)
from kafka.structs import OffsetAndMetadata

from streaming.config import IngestConfig, IngestReport
from streaming.dead_letters import DeadLetterPublisher
from streaming.decode import MAX_VALUE_BYTES, Decoder
from streaming.errors import TRANSIENT_DB_ERRORS, OffsetFenceError
from streaming.interpreter import BatchCollections, tuned
from streaming.metrics import IngestMetrics
from streaming.partitions import PartitionsMixin
from streaming.privacy import Pseudonymizer
from streaming.records import install_decompression_bounds
from streaming.retry import BACKOFF_MAX_S, BACKOFF_START_S, one_line, retry
from streaming.sink import Batch, BatchResult, PostgresSink
from streaming.topics import ensure_topics

logger = logging.getLogger(__name__)

_POLL_TIMEOUT_MS = 200
_JOIN_WAIT_S = 20.0
_SESSION_TIMEOUT_MS = 6000
_BOOTSTRAP_MS = 5000
_BATCH_MAX_BYTES = 64 * 1024 * 1024  # of values held: bounds a batch of large values


class _Flight:
    """A batch handed to the writer thread. Abandoning it makes the writer stop retrying."""

    def __init__(self, batch: Batch, stopping: threading.Event, deadline: float | None) -> None:
        self.batch = batch
        self.future: Future[BatchResult] | None = None
        self.abandoned = threading.Event()
        self._stopping = stopping
        self._deadline = deadline

    def give_up(self) -> bool:
        if self._deadline is not None and time.monotonic() > self._deadline:
            self.abandoned.set()
        return self._stopping.is_set() or self.abandoned.is_set()


class IngestConsumer(PartitionsMixin):
    """One consumer process of group `pulse-ingest`."""

    def __init__(self, config: IngestConfig) -> None:
        self.config = config
        self.report = IngestReport()
        self._stopping = threading.Event()
        pseudonymizer = Pseudonymizer(config.pseudonym_key)
        self._fingerprint = pseudonymizer.fingerprint
        self._decoder = Decoder(pseudonymizer, timedelta(seconds=config.future_tolerance_s))
        timeouts = {
            "statement_timeout_ms": config.statement_timeout_ms,
            "lock_timeout_ms": config.lock_timeout_ms,
        }
        self._sink = PostgresSink(config.pg_dsn, config.group, **timeouts)  # writer thread only
        self._offsets = PostgresSink(config.pg_dsn, config.group, **timeouts)  # this thread only
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulse-writer")
        self._inflight: _Flight | None = None
        self._last_logged = time.monotonic()
        self._dlq: DeadLetterPublisher | None = None
        self._admin: KafkaAdminClient | None = None
        self._consumer: KafkaConsumer | None = None
        self._batch = Batch(topic=config.topic)
        self._batch_started = time.monotonic()
        self._active_at = 0.0  # last time there was something to do (idle stop)
        self._poll_delay = BACKOFF_START_S
        self.metrics = IngestMetrics(config.topic)
        self._init_partitions()
        self.metrics.watch_lag(self.lags)
        install_decompression_bounds()

    # -- control -------------------------------------------------------------------------------

    def request_stop(self, *_: object) -> None:
        """Finish the current batch, commit it and return from `run` (SIGTERM, SIGINT)."""
        self._stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    # -- main loop -----------------------------------------------------------------------------

    def run(self) -> IngestReport:
        """Consume until stopped (or idle, with `stop_when_idle_s`); returns the totals.

        Raises:
            KeyMismatchError: the warehouse's member keys were made with another key.
        """
        started = time.monotonic()
        try:
            if not self._start():
                return self.report  # stopped before the services were there: nothing read
            self._active_at = time.monotonic()
            with tuned() as collections:
                self._loop(started, collections)
            self._flush()
            self._await_inflight()
        finally:
            self._close()
            self.report.seconds = time.monotonic() - started
        return self.report

    def _loop(self, started: float, collections: BatchCollections) -> None:
        while not self._stopping.is_set() or self._joining(started):
            polled = self._poll()
            read_any = bool(polled)
            if read_any:
                self._active_at = time.monotonic()
                for tp, records in polled.items():
                    self._add(tp.partition, records)
                # Decoded: let the records go now. kafka-python's reference cycles can keep this
                # dict for a while (streaming/interpreter.py); emptied, it holds nothing big.
                polled.clear()
            self._settle_pending()
            self._watch_positions()
            # Account for a batch the writer finished (lag, Kafka commit) also while idle.
            self._await_inflight(0)
            if self._batch_due():
                self._flush()
                collections.after_batch()
                # Time spent waiting for the writer (an outage, say) is not idle time.
                self._active_at = time.monotonic()
            if not read_any and self._idle():
                logger.info("nothing new for %.0f s: stopping", self.config.stop_when_idle_s)
                return

    def _start(self) -> bool:
        """Check the pseudonym key, create the topics, connect; each waits out an outage."""
        if self.config.metrics_port is not None:
            # First, so the endpoint answers (with no commit yet) while the services are awaited.
            self.metrics.serve(self.config.metrics_host, self.config.metrics_port)
        try:
            adopted = retry(
                "checking the pseudonym key against the warehouse",
                lambda: self._on_offsets(
                    lambda: self._offsets.ensure_key_fingerprint(self._fingerprint)
                ),
                self._stopping.is_set,
            )
            if adopted:
                logger.info("recorded this pseudonym key's fingerprint %s", self._fingerprint[:12])
            self._consumer = retry(
                f"connecting to Kafka at {self.config.bootstrap}",
                self._connect,
                self._stopping.is_set,
            )
        except (*TRANSIENT_DB_ERRORS, KafkaError):
            if self._consumer is None and self._stopping.is_set():
                logger.info("stopped while waiting for the services: nothing was read")
                return False
            raise
        return True

    def _idle(self) -> bool:
        idle = self.config.stop_when_idle_s
        if idle is None or not self._joined or self._pending:
            return False
        # Idle time counts only once partitions are settled: joining is slow.
        since = max(self._active_at, self._settled_at)
        return time.monotonic() - since >= idle

    def _joining(self, started: float) -> bool:
        """True while a stop must wait for the first group join to finish.

        Tansu 0.6 wedges a consumer group for good when a member leaves in the middle of a join
        (every later join hangs), so a SIGTERM that lands during the join waits for it, up to
        `_JOIN_WAIT_S`. Apache Kafka does not need this; it costs nothing there.
        """
        return not self._joined and time.monotonic() - started < _JOIN_WAIT_S

    def _connect(self) -> KafkaConsumer:
        config = self.config
        # Each client gives up a first connection soon, so a consumer started before the
        # broker says so (and retries) instead of hanging in silence.
        if config.topics:
            ensure_topics(config.bootstrap, config.topics, bootstrap_timeout_ms=_BOOTSTRAP_MS)
        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=config.bootstrap,
                client_id=f"{config.group}-admin",
                request_timeout_ms=config.request_timeout_ms,
                bootstrap_timeout_ms=_BOOTSTRAP_MS,
            )
        if self._dlq is None:
            self._dlq = DeadLetterPublisher(
                config.bootstrap, config.dlq_topic, config.dlq_max_message_bytes
            )
        consumer = KafkaConsumer(
            bootstrap_servers=config.bootstrap,
            group_id=config.group,
            client_id=f"{config.group}-consumer",
            enable_auto_commit=False,
            # No silent resets: an offset the partition no longer has raises, and becomes a
            # recorded gap (streaming/gaps.py). Positions always come from Postgres.
            auto_offset_reset="none",
            # Records of aborted transactions are never ingested.
            isolation_level="read_committed",
            # Fast group joins and failure detection (docs/runbook.md: a join takes about 3 s
            # instead of 23 s).
            session_timeout_ms=_SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=1000,
            request_timeout_ms=config.request_timeout_ms,
            bootstrap_timeout_ms=_BOOTSTRAP_MS,
            max_poll_records=config.batch_max_events,
            # Bounded memory whatever the backlog: at most this much fetched and not yet used.
            fetch_max_bytes=16 * 1024 * 1024,
            max_partition_fetch_bytes=2 * 1024 * 1024,
            # The key is the community, so a broad community makes its partition hot, and no
            # assignor knows which partitions are. Range hands each process a block of
            # neighbouring partitions; round-robin deals them out one by one, which at least
            # does not put neighbours together (in the generator's world the two hottest
            # partitions are 0 and 1: range gave one of two processes 79% of the events,
            # round-robin 54%). Range stays listed so a group that still has members of an
            # earlier release agrees on a protocol during a rolling upgrade.
            partition_assignment_strategy=(RoundRobinPartitionAssignor, RangePartitionAssignor),
        )
        consumer.subscribe([config.topic], listener=_Rebalance(self))
        return consumer

    def _poll(self) -> dict[TopicPartition, list[Any]]:
        """One poll; what the client cannot deliver is handled here and never ends the loop."""
        assert self._consumer is not None
        try:
            polled = self._consumer.poll(
                timeout_ms=_POLL_TIMEOUT_MS, max_records=self.config.batch_max_events
            )
        except CorruptRecordError as error:
            self._salvage(error)
            return {}
        except (OffsetOutOfRangeError, LogTruncationError) as error:
            self._out_of_range(error)
            return {}
        except NoOffsetForPartitionError as error:
            logger.warning("no position for %s: reading the stored offsets again", error)
            self._reseek()
            return {}
        except KafkaError as error:
            logger.warning(
                "polling Kafka failed (%s); retrying in %.1f s", one_line(error), self._poll_delay
            )
            self._stopping.wait(self._poll_delay)
            self._poll_delay = min(self._poll_delay * 2, BACKOFF_MAX_S)
            return {}
        self._poll_delay = BACKOFF_START_S
        return polled

    def _add(self, partition: int, records: list[Any]) -> None:
        owned = self._owned.get(partition)
        if owned is None or not records:
            return  # not (or no longer) ours: the partition is sought again when it is
        batch = self._begin_batch()
        batch.expected_offsets.setdefault(partition, owned.stored)
        batch.value_bytes += self._decoder.decode_records(
            records,
            self.config.topic,
            partition,
            owned.epoch,
            datetime.now(UTC),
            batch.rows,
            batch.dead_letters,
        )
        batch.next_offsets[partition] = owned.position = records[-1].offset + 1

    def _begin_batch(self) -> Batch:
        batch = self._batch
        if batch.first_polled_at is None:
            batch.first_polled_at = datetime.now(UTC)
            self._batch_started = time.monotonic()
        return batch

    def _decode_into(self, batch: Batch, record: Any, epoch: int, now: datetime) -> None:
        batch.value_bytes += self._decoder.decode_records(
            [record], record.topic, record.partition, epoch, now, batch.rows, batch.dead_letters
        )

    def _batch_due(self) -> bool:
        batch = self._batch
        if batch.messages == 0:
            return False
        return (
            batch.messages >= self.config.batch_max_events
            or batch.value_bytes >= _BATCH_MAX_BYTES
            or time.monotonic() - self._batch_started >= self.config.batch_max_age_s
        )

    # -- commit --------------------------------------------------------------------------------

    def _flush(self, deadline: float | None = None) -> bool:
        """Hand the current batch to the writer thread (see PostgresSink.write for the order of
        the steps) after the previous batch has committed.

        At most one batch is in flight while the next one is read and decoded: Postgres works on
        batch N while this thread decodes batch N+1, and memory stays bounded by two batches.
        Infrastructure errors are retried until they pass, a stop is requested or `deadline`
        (monotonic) passes.

        Returns:
            False when the previous batch was still in flight at `deadline` (nothing submitted).
        """
        batch = self._batch
        if not self._await_inflight(None if deadline is None else deadline - time.monotonic()):
            return False
        if batch is not self._batch or not batch.next_offsets:
            return True  # discarded by a fence while we waited, or empty
        batch.topic_id = self._topic_id
        flight = _Flight(batch, self._stopping, deadline)
        flight.future = self._writer.submit(self._commit, flight)
        self._inflight = flight
        # The next batch starts where this one ends; if this one is fenced, both are discarded.
        for partition, offset in batch.next_offsets.items():
            if partition in self._owned:
                self._owned[partition].stored = offset
        self._batch = Batch(topic=self.config.topic)
        return True

    def _commit(self, flight: _Flight) -> BatchResult:
        """Writer thread: dead letters to the DLQ topic, then the one Postgres transaction."""
        batch = flight.batch
        if batch.dead_letters:
            assert self._dlq is not None
            self._dlq.publish_all(
                batch.dead_letters, flight.give_up, self.config.dlq_publish_timeout_s
            )
        return retry(  # type: ignore[no-any-return]
            "writing the batch to Postgres", lambda: self._write(batch), flight.give_up
        )

    def _await_inflight(self, timeout: float | None = None) -> bool:
        """Wait for the batch in flight; account for it, or discard everything after a fence.

        Returns:
            False when it is still in flight after `timeout` seconds.
        """
        flight = self._inflight
        if flight is None:
            return True
        assert flight.future is not None
        try:
            result = flight.future.result(timeout=None if timeout is None else max(timeout, 0))
        except TimeoutError:
            return False
        except OffsetFenceError as error:
            self._inflight = None
            self.report.fenced_batches += 1
            self.metrics.fenced_batches.inc()
            logger.warning("batch discarded, another consumer took over: %s", error)
            self._batch = Batch(topic=self.config.topic)
            self._reseek()
            return True
        except (*TRANSIENT_DB_ERRORS, KafkaError) as error:
            self._inflight = None
            if not flight.abandoned.is_set():
                raise
            logger.warning("abandoned batch not written (%s): its rows are re-read", error)
            return True
        self._inflight = None
        self.report.add(result, flight.batch.dead_letters)
        committed_at = datetime.now(UTC)
        for partition, offset in flight.batch.next_offsets.items():
            if partition in self._owned:
                self._owned[partition].updated_at = committed_at
                self._owned[partition].committed = offset
        if not flight.abandoned.is_set():
            self._commit_to_kafka(flight.batch.next_offsets)
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
        return True

    def _write(self, batch: Batch) -> BatchResult:
        started = time.monotonic()
        try:
            result = self._sink.write(batch)
        except TRANSIENT_DB_ERRORS:
            self._sink.reset()
            raise
        first = batch.first_polled_at
        self.metrics.committed(
            result.messages,
            result.inserted,
            result.duplicates,
            ((letter.reason, letter.dlq_published) for letter in batch.dead_letters),
            None if first is None else (datetime.now(UTC) - first).total_seconds(),
            time.monotonic() - started,
        )
        return result

    def _on_offsets(self, action: Callable[[], Any]) -> Any:
        """Run `action` on this thread's sink; drop its connection after a transient error."""
        try:
            return action()
        except TRANSIENT_DB_ERRORS:
            self._offsets.reset()
            raise

    def _commit_to_kafka(self, offsets: dict[int, int]) -> None:
        """For lag tools only: Postgres holds the offsets the consumer resumes from."""
        owned = {p: o for p, o in offsets.items() if p in self._owned}
        if self._consumer is None or not owned:
            return
        try:
            self._consumer.commit_async(
                {
                    TopicPartition(self.config.topic, partition): OffsetAndMetadata(offset, "", -1)
                    for partition, offset in owned.items()
                }
            )
        except KafkaError as error:  # harmless: the next commit carries newer offsets
            logger.debug("kafka offset commit failed: %s", error)

    def _close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close(autocommit=False)
            except KafkaError as error:
                logger.debug("closing the consumer: %s", error)
        for client in (self._dlq, self._admin):
            if client is not None:
                try:
                    client.close()
                except KafkaError as error:
                    logger.debug("closing a Kafka client: %s", error)
        self._writer.shutdown(wait=True)
        self._sink.close()
        self._offsets.close()
        self.metrics.close()


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: IngestConsumer) -> None:
        self._owner = owner

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._owner.on_revoked(list(revoked))

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._owner.on_assigned(list(assigned))

    def on_partitions_lost(self, lost: list[TopicPartition]) -> None:
        self._owner.on_lost(list(lost))


__all__ = ["MAX_VALUE_BYTES", "IngestConfig", "IngestConsumer", "IngestReport"]
