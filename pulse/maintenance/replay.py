"""Dead-letter replay: re-validate quarantined messages against the current contract and send the
ones that now pass back into the inbound topic, once.

raw.dead_letter_events keeps only a redacted copy of each rejected message (member key instead of
member id, no text), which is not an event the contract accepts. The original bytes live in the
DLQ topic, with headers `pulse.source.topic/partition/offset` naming where they came from; a
replay finds them there by that position and checks them against the stored SHA-256.

For each selected dead letter (not replayed yet; optionally by reason and by when it was
received), one of:

- `reinjected`: the original now passes the contract (`streaming.decode.Decoder`, as the consumer
  would decode it); it is produced to the inbound topic with its original key, value and headers
  plus `pulse.replay.of` (topic/partition/offset) and `pulse.replay.run_id`, and its row gets
  `replayed_at`. The consumer then stores it like any event (its event_id keeps it unique);
- `still_invalid`: the current contract still rejects it (the reason it gives is recorded);
- `not_in_dlq_topic`: the original is no longer in the DLQ topic (retention), or what claims its
  position there has another SHA-256 than the recorded one (the topic was recreated; the
  recorded detail then says so);
- `erased_member`: it passes, but its member was erased; it is not re-injected.

Order, the one place it is written down: produce every re-injected message and wait for the
broker's acknowledgement, then, in one transaction, mark the rows replayed and record the
outcomes. A crash in between leaves rows unmarked, so a later replay sends them again: the
inbound topic may then hold a message twice, raw never does (same event_id). A replay holds an
advisory lock for its whole duration, so two replays never pick the same rows.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from pulse.errors import PulseError
from streaming.decode import REASONS, Decoder, EventRow
from streaming.privacy import Pseudonymizer

logger = logging.getLogger(__name__)

REPLAY_LOCK = "pulse dead-letter replay"
MIB = 1024 * 1024
_OUR_HEADERS = ("pulse.error.", "pulse.source.", "pulse.replay.")


class ReplayError(PulseError):
    """The replay could not read the DLQ topic or write to the inbound topic."""


@dataclass(frozen=True)
class Candidate:
    """A dead letter selected for replay."""

    dead_letter_id: int
    source_topic: str
    source_partition: int
    source_offset: int
    reason: str
    value_sha256: str

    @property
    def position(self) -> tuple[str, int, int]:
        return (self.source_topic, self.source_partition, self.source_offset)


@dataclass(frozen=True)
class Original:
    """A message of the DLQ topic: the rejected record as it was sent."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


@dataclass
class ReplayReport:
    """What one replay did."""

    run_id: str
    dry_run: bool
    selected: int = 0
    reinjected: int = 0
    still_invalid: int = 0
    not_in_dlq_topic: int = 0
    erased_member: int = 0
    still_invalid_by_reason: dict[str, int] = field(default_factory=dict)
    dead_letter_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "selected": self.selected,
            "reinjected": self.reinjected,
            "still_invalid": self.still_invalid,
            "not_in_dlq_topic": self.not_in_dlq_topic,
            "erased_member": self.erased_member,
            "still_invalid_by_reason": self.still_invalid_by_reason,
            "reinjected_dead_letter_ids": self.dead_letter_ids,
            "seconds": round(self.seconds, 3),
        }


def select_candidates(
    conn: psycopg.Connection,
    *,
    reasons: Sequence[str] | None,
    received_from: datetime | None,
    received_until: datetime | None,
) -> list[Candidate]:
    """Dead letters not replayed yet, by reason and received_at in [from, until)."""
    unknown = sorted(set(reasons or ()) - set(REASONS))
    if unknown:
        raise PulseError(f"unknown dead-letter reason(s): {', '.join(unknown)}")
    rows = conn.execute(
        "select dead_letter_id, source_topic, source_partition, source_offset, reason, "
        "value_sha256 from raw.dead_letter_events "
        "where replayed_at is null "
        "and (%(reasons)s::text[] is null or reason = any(%(reasons)s::text[])) "
        "and received_at >= coalesce(%(since)s::timestamptz, '-infinity') "
        "and received_at < coalesce(%(until)s::timestamptz, 'infinity') "
        "order by dead_letter_id",
        {
            "reasons": list(reasons) if reasons else None,
            "since": received_from,
            "until": received_until,
        },
    ).fetchall()
    return [Candidate(*row) for row in rows]


def _header(headers: Iterable[tuple[str, bytes]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("utf-8", "replace")
    return None


def find_originals(
    bootstrap: str,
    dlq_topic: str,
    wanted: set[tuple[str, int, int]],
    *,
    digests: Mapping[tuple[str, int, int], str] | None = None,
    idle_s: float = 2.0,
    timeout_s: float = 300.0,
) -> dict[tuple[str, int, int], Original]:
    """Read the DLQ topic from the beginning and return the originals at the wanted positions.

    Reads until every wanted position is found, or nothing new arrives for `idle_s` (the end:
    Tansu's end offsets can under-report, so the end is seen, not asked for). The DLQ topic is
    at-least-once: the first copy of a position wins. A position may also be claimed by a
    message from an earlier topic of the same name: with `digests` (position -> SHA-256 of the
    value), the first copy with that digest wins, and the first copy only when none has it.
    """
    found: dict[tuple[str, int, int], Original] = {}
    if not wanted:
        return found
    digests = digests or {}

    def settles(position: tuple[str, int, int], original: Original) -> bool:
        digest = digests.get(position)
        return digest is None or hashlib.sha256(original.value or b"").hexdigest() == digest

    settled: set[tuple[str, int, int]] = set()
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id="pulse-replay",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * MIB,
            fetch_max_bytes=32 * MIB,
        )
    except KafkaError as error:
        raise ReplayError(f"cannot reach Kafka at {bootstrap}: {error}") from error
    try:
        partitions = consumer.partitions_for_topic(dlq_topic) or set()
        if not partitions:
            return found
        tps = [TopicPartition(dlq_topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        started = last_seen = time.monotonic()
        while len(settled) < len(wanted):
            polled = consumer.poll(timeout_ms=200, max_records=5000)
            now = time.monotonic()
            if not polled:
                if now - last_seen >= idle_s or now - started >= timeout_s:
                    break
                continue
            last_seen = now
            for records in polled.values():
                for record in records:
                    headers = list(record.headers or [])
                    topic = _header(headers, "pulse.source.topic")
                    partition = _header(headers, "pulse.source.partition")
                    offset = _header(headers, "pulse.source.offset")
                    if topic is None or partition is None or offset is None:
                        continue
                    try:
                        position = (topic, int(partition), int(offset))
                    except ValueError:
                        continue
                    if position not in wanted or position in settled:
                        continue
                    original = Original(record.key, record.value, headers)
                    if settles(position, original):
                        settled.add(position)
                        found[position] = original
                    else:
                        found.setdefault(position, original)
    except KafkaError as error:
        raise ReplayError(f"could not read {dlq_topic}: {error}") from error
    finally:
        consumer.close()
    return found


def _erased_digests(conn: psycopg.Connection) -> set[str]:
    return {row[0] for row in conn.execute("select member_key_sha256 from quality.erased_members")}


def _digest(member_key: str) -> str:
    return hashlib.sha256(member_key.encode()).hexdigest()


def replay_dead_letters(
    dsn: str,
    bootstrap: str,
    pseudonym_key: str,
    *,
    run_id: str,
    events_topic: str,
    dlq_topic: str,
    reasons: Sequence[str] | None = None,
    received_from: datetime | None = None,
    received_until: datetime | None = None,
    future_tolerance_s: float = 300.0,
    dry_run: bool = False,
) -> ReplayReport:
    """Replay the selected dead letters that the current contract accepts (see the module doc).

    Args:
        dsn: warehouse connection string (reads raw and quality, marks replayed_at).
        bootstrap: Kafka bootstrap servers.
        pseudonym_key: the HMAC key, to recognise erased members as the consumer would.
        run_id: the replay run (recorded with every outcome and in a header).
        events_topic: the inbound topic to re-inject into.
        dlq_topic: the dead-letter topic holding the originals.
        reasons: only dead letters with these reasons (default: all).
        received_from: only dead letters received at or after this moment.
        received_until: only dead letters received before this moment.
        future_tolerance_s: the consumer's tolerance for occurred_at ahead of now.
        dry_run: decide and report, change nothing.

    Returns:
        Counts per outcome.
    """
    started = time.perf_counter()
    report = ReplayReport(run_id=run_id, dry_run=dry_run)
    decoder = Decoder(Pseudonymizer(pseudonym_key), timedelta(seconds=future_tolerance_s))
    with psycopg.connect(dsn, autocommit=True) as lock:
        lock.execute("select pg_advisory_lock(hashtext(%s))", [REPLAY_LOCK])
        with psycopg.connect(dsn) as conn:
            candidates = select_candidates(
                conn, reasons=reasons, received_from=received_from, received_until=received_until
            )
            erased = _erased_digests(conn)
            conn.commit()
        report.selected = len(candidates)
        originals = find_originals(
            bootstrap,
            dlq_topic,
            {c.position for c in candidates},
            digests={c.position: c.value_sha256 for c in candidates},
        )
        outcomes: list[tuple[Any, ...]] = []
        to_send: list[tuple[Candidate, Original]] = []
        now = datetime.now(UTC)
        for candidate in candidates:
            original = originals.get(candidate.position)
            if original is None:
                outcomes.append((candidate, "not_in_dlq_topic", None, None, None))
                continue
            digest = hashlib.sha256(original.value or b"").hexdigest()
            if digest != candidate.value_sha256:
                detail = (
                    f"the DLQ topic holds another message at this position (SHA-256 {digest}, "
                    f"recorded {candidate.value_sha256})"
                )
                outcomes.append((candidate, "not_in_dlq_topic", None, detail, None))
                continue
            decoded = decoder.decode(
                candidate.source_topic,
                candidate.source_partition,
                candidate.source_offset,
                original.key,
                original.value,
                original.headers,
                now,
            )
            if not isinstance(decoded, EventRow):
                outcomes.append((candidate, "still_invalid", decoded.reason, decoded.detail, None))
                reasons_seen = report.still_invalid_by_reason
                reasons_seen[decoded.reason] = reasons_seen.get(decoded.reason, 0) + 1
            elif decoded.member_key is not None and _digest(decoded.member_key) in erased:
                outcomes.append((candidate, "erased_member", None, None, None))
            else:
                to_send.append((candidate, original))
        for name in ("still_invalid", "not_in_dlq_topic", "erased_member"):
            setattr(report, name, sum(1 for item in outcomes if item[1] == name))
        if dry_run:
            report.reinjected = len(to_send)
            report.dead_letter_ids = [c.dead_letter_id for c, _ in to_send]
            report.seconds = time.perf_counter() - started
            return report
        positions = _reinject(bootstrap, events_topic, run_id, to_send)
        for candidate, _original in to_send:
            outcomes.append(
                (candidate, "reinjected", None, None, positions[candidate.dead_letter_id])
            )
        with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
            ids = [candidate.dead_letter_id for candidate, _ in to_send]
            cursor.execute(
                "update raw.dead_letter_events set replayed_at = now() "
                "where dead_letter_id = any(%s) and replayed_at is null",
                [ids],
            )
            cursor.executemany(
                "insert into quality.dead_letter_replays (run_id, dead_letter_id, source_topic, "
                "source_partition, source_offset, original_reason, outcome, current_reason, "
                "current_detail, target_topic, target_partition, target_offset) "
                "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        run_id,
                        candidate.dead_letter_id,
                        *candidate.position,
                        candidate.reason,
                        outcome,
                        current_reason,
                        current_detail,
                        events_topic if target else None,
                        target[0] if target else None,
                        target[1] if target else None,
                    )
                    for candidate, outcome, current_reason, current_detail, target in outcomes
                ],
            )
        lock.execute("select pg_advisory_unlock(hashtext(%s))", [REPLAY_LOCK])
    report.reinjected = len(to_send)
    report.dead_letter_ids = sorted(ids)
    report.seconds = time.perf_counter() - started
    logger.info(
        "replay %s: %d selected, %d re-injected, %d still invalid, %d not in the DLQ topic, "
        "%d of erased members",
        run_id,
        report.selected,
        report.reinjected,
        report.still_invalid,
        report.not_in_dlq_topic,
        report.erased_member,
    )
    return report


def _reinject(
    bootstrap: str, topic: str, run_id: str, messages: Sequence[tuple[Candidate, Original]]
) -> dict[int, tuple[int, int]]:
    """Produce the originals to the inbound topic; returns dead_letter_id -> (partition, offset)."""
    if not messages:
        return {}
    try:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="pulse-replay",
            acks="all",
            retries=5,
            max_in_flight_requests_per_connection=1,
            compression_type=None,
            max_request_size=16 * MIB,
        )
    except KafkaError as error:
        raise ReplayError(f"cannot reach Kafka at {bootstrap}: {error}") from error
    try:
        futures = []
        for candidate, original in messages:
            headers = [h for h in original.headers if not h[0].startswith(_OUR_HEADERS)]
            headers += [
                ("pulse.replay.of", "/".join(map(str, candidate.position)).encode()),
                ("pulse.replay.run_id", run_id.encode()),
            ]
            futures.append(
                (
                    candidate.dead_letter_id,
                    producer.send(topic, key=original.key, value=original.value, headers=headers),
                )
            )
        producer.flush(timeout=60)
        positions = {}
        for dead_letter_id, future in futures:
            metadata = future.get(timeout=60)
            positions[dead_letter_id] = (metadata.partition, metadata.offset)
        return positions
    except KafkaError as error:
        raise ReplayError(f"could not re-inject into {topic}: {error}") from error
    finally:
        producer.close(timeout=10)
