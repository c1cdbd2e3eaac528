"""What the consumer knows per partition it owns, and what it does when a partition changes.

Part of IngestConsumer (a mixin, to keep each module to one concern): settling newly assigned
partitions from their stored offsets, noticing gaps (streaming/gaps.py: a stored offset the
partition no longer has) and recording them, and reading past record batches the Kafka client
cannot parse (streaming/salvage.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kafka import TopicPartition
from kafka.errors import CorruptRecordError, KafkaError

from streaming.decode import MAX_VALUE_BYTES
from streaming.errors import TRANSIENT_DB_ERRORS, OffsetFenceError
from streaming.gaps import Gap, classify
from streaming.records import ParsedRecord
from streaming.retry import one_line, retry
from streaming.salvage import Salvage, salvage_partition

logger = logging.getLogger(__name__)

_SETTLE_BACKOFF_START_S = 0.2
_SETTLE_BACKOFF_MAX_S = 10.0
_WATCH_EVERY_S = 0.5
# A partition is "beyond its end" only after fetches said so for this long: a new leader's high
# watermark can lag for a moment after a failover.
_BEYOND_END_CONFIRM_S = 3.0
_IDENTITY_CHECK_S = 10.0  # how often the topic's id is compared with the one ingest started on
# A revocation flush holds the group's rebalance (and this member's heartbeats) at most this
# long: well within the 6 s session timeout. What is not written by then is left to the new owner.
_REVOKE_BUDGET_S = 2.0


@dataclass
class Owned:
    """One partition this consumer owns and reads."""

    stored: int | None  # the stored offset the next batch expects (None: no row yet)
    epoch: int = 0
    position: int | None = None  # next offset to read (None: the beginning, not known yet)
    topic_id: str | None = None
    updated_at: datetime | None = None  # when ingest last stored from it
    beyond_since: float | None = None
    committed: int | None = None  # the offset committed to Postgres (for the lag metric)


class PartitionsMixin:
    """Partition ownership of IngestConsumer (see the module docstring)."""

    def _init_partitions(self) -> None:
        self._owned: dict[int, Owned] = {}
        self._pending: set[int] = set()  # assigned, paused until their stored offset is read
        self._settle_at = 0.0
        self._settle_delay = _SETTLE_BACKOFF_START_S
        self._settled_at = 0.0
        self._joined = False
        self._topic_id: str | None = None
        self._watched_at = 0.0
        self._identity_checked_at = time.monotonic()
        self._salvage_delay = _SETTLE_BACKOFF_START_S

    # -- assignment ----------------------------------------------------------------------------

    def on_assigned(self, partitions: list[TopicPartition]) -> None:
        """Pause every new partition until the loop has read its stored offset.

        Runs on the client's IO thread, which also sends heartbeats, so nothing here waits for
        Postgres or the broker. The beginning is a provisional position only (the client wants
        one); no fetch happens while paused.
        """
        assert self._consumer is not None
        ours = [tp for tp in partitions if tp.topic == self.config.topic]
        for tp in ours:
            self._consumer.pause(tp)
            self._consumer.seek_to_beginning(tp)
            self._pending.add(tp.partition)
            self._owned.pop(tp.partition, None)
        self._settle_at = 0.0
        self._joined = True
        logger.info("assigned %s; reading their stored offsets", sorted(p.partition for p in ours))

    def _forget(self, partitions: set[int]) -> None:
        for partition in partitions:
            self._owned.pop(partition, None)
            self._pending.discard(partition)

    def _reseek(self) -> None:
        """Read every owned partition's stored offset again (after a fence: another consumer
        wrote them, so what this one holds is stale)."""
        if self._consumer is None:
            return
        self.on_assigned(list(self._consumer.assignment()))

    def _settle_pending(self) -> None:
        """Seek pending partitions to their stored offsets, after checking them for gaps."""
        if not self._pending or time.monotonic() < self._settle_at:
            return
        assert self._consumer is not None
        numbers = sorted(self._pending)
        tps = [TopicPartition(self.config.topic, p) for p in numbers]
        try:
            stored = self._on_offsets(
                lambda: self._offsets.stored_positions(self.config.topic, numbers)
            )
            topic_id = self._topic_id_now()
            starts = self._log_starts(tps)
        except (*TRANSIENT_DB_ERRORS, KafkaError, OSError) as error:
            logger.warning(
                "reading the stored offsets of %s[%s] failed (%s); retrying in %.1f s",
                self.config.topic,
                ",".join(map(str, numbers)),
                one_line(error),
                self._settle_delay,
            )
            self._settle_at = time.monotonic() + self._settle_delay
            self._settle_delay = min(self._settle_delay * 2, _SETTLE_BACKOFF_MAX_S)
            return
        self._settle_delay = _SETTLE_BACKOFF_START_S
        self._topic_id = topic_id
        assigned = set(self._consumer.assignment())
        gaps = []
        for tp in tps:
            self._pending.discard(tp.partition)
            if tp not in assigned:
                continue  # revoked meanwhile
            row = stored.get(tp.partition)
            owned = Owned(stored=None, topic_id=topic_id, committed=starts.get(tp.partition))
            if row is not None:
                owned = Owned(
                    row.offset, row.epoch, row.offset, row.topic_id or topic_id, row.updated_at
                )
                owned.committed = row.offset
                self._consumer.seek(tp, row.offset)
                cause = classify(
                    row.offset,
                    log_start=starts.get(tp.partition),
                    log_end=None,
                    topic_id_stored=row.topic_id,
                    topic_id_now=topic_id,
                )
                if cause is not None:
                    gaps.append((tp.partition, cause))
            self._owned[tp.partition] = owned
            self._consumer.resume(tp)
        logger.info(
            "resuming %s from %s",
            numbers,
            {p: stored[p].offset for p in sorted(stored)} or "the beginning",
        )
        for partition, cause in gaps:
            self._handle_gap(partition, cause, topic_id_now=topic_id)
        if not self._pending:
            self._settled_at = time.monotonic()

    def _topic_id_now(self) -> str | None:
        """The broker's id of the topic (None when it gives none, e.g. before Kafka 2.8)."""
        assert self._admin is not None
        for described in self._admin.describe_topics([self.config.topic]):
            topic_id = described.get("topic_id")
            if topic_id and str(topic_id).strip("0-"):
                return str(topic_id)
        return None

    def _log_starts(self, tps: list[TopicPartition]) -> dict[int, int]:
        assert self._consumer is not None
        starts = self._consumer.beginning_offsets(tps, timeout_ms=self.config.request_timeout_ms)
        return {tp.partition: int(offset) for tp, offset in starts.items()}

    def _log_end(self, tp: TopicPartition) -> int | None:
        """The end as fetches and ListOffsets saw it (ListOffsets alone under-reports on the
        embedded broker; a fetch's high watermark does not)."""
        assert self._consumer is not None
        ends = self._consumer.end_offsets([tp], timeout_ms=self.config.request_timeout_ms)
        seen = [int(ends[tp])] if tp in ends else []
        high_watermark = self._consumer.highwater(tp)
        if high_watermark is not None:
            seen.append(int(high_watermark))
        return max(seen) if seen else None

    # -- revocation (the client's IO thread; bounded: heartbeats wait meanwhile) --------------

    def on_revoked(self, partitions: list[TopicPartition]) -> None:
        """Commit what we hold before giving partitions up, within `_REVOKE_BUDGET_S`; what is
        not written by then is left to the new owner (re-read from the stored offsets)."""
        ours = {tp.partition for tp in partitions if tp.topic == self.config.topic}
        if not ours:
            return
        held = self._batch.messages
        deadline = time.monotonic() + _REVOKE_BUDGET_S
        written = False
        try:
            if self._flush(deadline=deadline):
                written = self._await_inflight(deadline - time.monotonic())
        except (*TRANSIENT_DB_ERRORS, KafkaError) as error:
            logger.warning("could not flush on revocation (%s)", one_line(error))
        if not written and self._inflight is not None:
            self._inflight.abandoned.set()  # the writer stops retrying; the fence does the rest
        if written and held:
            self.report.revocation_flushes += 1
            logger.info("revoked %s: flushed the %d messages in hand", sorted(ours), held)
        elif held:
            logger.warning(
                "revoked %s: %d messages in hand not written within %.1f s, left to the new owner",
                sorted(ours),
                held,
                _REVOKE_BUDGET_S,
            )
        self._batch = type(self._batch)(topic=self.config.topic)
        self._forget(ours)

    def on_lost(self, partitions: list[TopicPartition]) -> None:
        """The group removed this member (e.g. it was frozen past its session timeout): another
        consumer may own the partitions already, so nothing is flushed (the fence would refuse
        it anyway) and the batch in hand is dropped."""
        ours = {tp.partition for tp in partitions if tp.topic == self.config.topic}
        if self._inflight is not None:
            self._inflight.abandoned.set()
        if self._batch.messages:
            logger.warning(
                "lost %s: dropped %d messages in hand, left to the new owner",
                sorted(ours),
                self._batch.messages,
            )
        self._batch = type(self._batch)(topic=self.config.topic)
        self._forget(ours)

    def lags(self) -> dict[int, int]:
        """Per partition owned: the high watermark of the last fetch minus the offset stored in
        Postgres (the lag metric; read by the metrics endpoint's thread, so it only reads)."""
        consumer = self._consumer
        if consumer is None:
            return {}
        found: dict[int, int] = {}
        for partition, owned in list(self._owned.items()):
            try:
                high_watermark = consumer.highwater(TopicPartition(self.config.topic, partition))
            except (AssertionError, KeyError, KafkaError):  # revoked meanwhile
                continue
            if high_watermark is not None and owned.committed is not None:
                found[partition] = max(int(high_watermark) - owned.committed, 0)
        return found

    # -- gaps ----------------------------------------------------------------------------------

    def _watch_positions(self) -> None:
        """Notice a partition that ends before our position, and a topic that was recreated."""
        now = time.monotonic()
        if now - self._watched_at < _WATCH_EVERY_S or self._consumer is None:
            return
        self._watched_at = now
        for partition, owned in list(self._owned.items()):
            tp = TopicPartition(self.config.topic, partition)
            try:
                high_watermark = self._consumer.highwater(tp)
            except KafkaError:
                continue
            if owned.position is None or high_watermark is None or high_watermark >= owned.position:
                owned.beyond_since = None
                continue
            if owned.beyond_since is None:
                owned.beyond_since = now
            elif now - owned.beyond_since >= _BEYOND_END_CONFIRM_S:
                self._handle_gap(partition, "beyond_end", topic_id_now=self._topic_id)
        if self._topic_id is not None and now - self._identity_checked_at >= _IDENTITY_CHECK_S:
            self._identity_checked_at = now
            try:
                topic_id = self._topic_id_now()
            except KafkaError as error:
                logger.debug("topic id not checked: %s", error)
                return
            if topic_id is not None and topic_id != self._topic_id:
                self._recreated(topic_id)

    def _recreated(self, topic_id: str) -> None:
        """The topic was deleted and created again under a running consumer."""
        logger.error(
            "topic %s was recreated (id %s, now %s): every partition resumes from its start",
            self.config.topic,
            self._topic_id,
            topic_id,
        )
        # What was read since the recreation sits at positions of the old incarnation: drop it.
        self._batch = type(self._batch)(topic=self.config.topic)
        self._await_inflight()
        for owned in self._owned.values():
            owned.position = owned.stored
        for partition in list(self._owned):
            self._handle_gap(partition, "topic_recreated", topic_id_now=topic_id)
        self._topic_id = topic_id

    def _out_of_range(self, error: KafkaError) -> None:
        """The broker refused a fetch offset (Apache Kafka: past the end or before the start),
        or its log was truncated below our position (KIP-320)."""
        offsets = getattr(error, "divergent_offsets", None)
        if offsets is None:
            offsets = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
        for tp in offsets:
            if tp.partition in self._owned:
                self._handle_gap(tp.partition, None, topic_id_now=self._topic_id)

    def _handle_gap(self, partition: int, cause: str | None, *, topic_id_now: str | None) -> None:
        """Record a gap and resume from the partition's earliest offset (streaming/gaps.py)."""
        assert self._consumer is not None
        tp = TopicPartition(self.config.topic, partition)
        # Written first, so the stored offset is exactly where this consumer stands.
        self._flush()
        self._await_inflight()
        owned = self._owned.get(partition)
        if owned is None:
            return  # fenced while flushing: the partition is settled again from Postgres
        try:
            start = self._log_starts([tp]).get(partition, 0)
            end = self._log_end(tp)
            topic_id_now = self._topic_id_now() or topic_id_now
        except KafkaError as error:
            logger.warning(
                "gap check of %s[%d] at offset %s postponed (%s)",
                tp.topic,
                partition,
                owned.stored,
                one_line(error),
            )
            # Settled again from Postgres later, so the check is not lost.
            self._consumer.pause(tp)
            self._owned.pop(partition, None)
            self._pending.add(partition)
            self._settle_at = time.monotonic() + self._settle_delay
            return
        if owned.topic_id and topic_id_now and owned.topic_id != topic_id_now:
            cause = "topic_recreated"  # the most precise cause there is
        self._topic_id = topic_id_now or self._topic_id
        if owned.stored is None:
            self._consumer.seek_to_beginning(tp)  # nothing stored, so nothing skipped
            owned.position = None
            return
        cause = cause or classify(owned.stored, log_start=start, log_end=end) or "beyond_end"
        gap = Gap(
            topic=self.config.topic,
            partition=partition,
            stored_offset=owned.stored,
            cause=cause,
            resume_offset=start,
            log_start=start,
            log_end=end,
            topic_id_before=owned.topic_id,
            topic_id_after=topic_id_now,
            lost_from=owned.updated_at,
        )
        expected = owned.stored
        try:
            epoch = self._retry_offsets(
                "recording an ingest gap", self._offsets.record_gap, gap, expected
            )
        except OffsetFenceError as error:
            logger.warning("gap not recorded, another consumer took over: %s", error)
            self._reseek()
            return
        logger.error("ingest gap: %s", gap.describe())
        self.metrics.gaps.labels(cause).inc()
        owned.stored = owned.position = owned.committed = start
        owned.epoch, owned.beyond_since = epoch, None
        owned.topic_id = topic_id_now or owned.topic_id
        owned.updated_at = datetime.now(UTC)
        self._consumer.seek(tp, start)
        self._active_at = time.monotonic()
        self.report.gaps += 1

    def _retry_offsets(self, what: str, action: Any, *args: Any) -> Any:
        return retry(what, lambda: self._on_offsets(lambda: action(*args)), self._stopping.is_set)

    # -- records the client cannot parse -------------------------------------------------------

    def _salvage(self, error: CorruptRecordError) -> None:
        """Read the partition the client stopped at by hand, past the batch it cannot parse."""
        assert self._consumer is not None and self._admin is not None
        logger.error("the Kafka client cannot parse a record batch (%s): reading it by hand", error)
        found = False
        for tp in sorted(self._consumer.assignment()):
            if tp.topic != self.config.topic or tp.partition not in self._owned:
                continue
            position = None
            try:
                position = self._consumer.position(tp, timeout_ms=5000)
                salvage = None
                if position is not None:
                    salvage = salvage_partition(
                        self._admin,
                        tp.topic,
                        tp.partition,
                        position,
                        max_value_bytes=MAX_VALUE_BYTES,
                        timeout_s=self.config.request_timeout_ms / 1000,
                    )
            except (KafkaError, OSError):
                logger.exception(
                    "reading %s[%d] by hand from offset %s failed; retrying",
                    tp.topic,
                    tp.partition,
                    position,
                )
                continue
            if salvage is not None:
                found = True
                self._add_salvaged(salvage)
                self._consumer.seek(tp, salvage.next_offset)
        if found:
            self._salvage_delay = _SETTLE_BACKOFF_START_S
            self._active_at = time.monotonic()
            return
        logger.warning("no partition holds the batch the client refused; retrying")
        self._stopping.wait(self._salvage_delay)
        self._salvage_delay = min(self._salvage_delay * 2, _SETTLE_BACKOFF_MAX_S)

    def _add_salvaged(self, salvage: Salvage) -> None:
        owned = self._owned[salvage.partition]
        batch = self._begin_batch()
        batch.expected_offsets.setdefault(salvage.partition, owned.stored)
        now = datetime.now(UTC)
        for item in salvage.items:
            if isinstance(item, ParsedRecord):
                self._decode_into(batch, item, owned.epoch, now)
                continue
            letter = self._decoder.unparsed(
                item.reason,
                self.config.topic,
                salvage.partition,
                item.offset,
                item.detail,
                key=item.key,
                value=item.value,
                headers=item.headers,
                offset_last=item.offset_last,
                value_size=item.value_size,
                value_sha256=item.value_sha256,
            )
            letter.source_epoch = owned.epoch
            batch.dead_letters.append(letter)
            logger.error(
                "%s[%d] offset %d%s is a dead letter (%s): %s",
                self.config.topic,
                salvage.partition,
                item.offset,
                f"-{item.offset_last}" if item.offset_last is not None else "",
                item.reason,
                item.detail,
            )
        batch.next_offsets[salvage.partition] = owned.position = salvage.next_offset
        self.report.undecodable_batches += 1
