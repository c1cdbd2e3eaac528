"""Dead-letter replay (`pulse.maintenance.replay`) on a real broker and warehouse, outcome by
outcome.

Dead letters are made the way production makes them: a producer sends to the inbound topic, the
real consumer quarantines what the contract rejects (a row of raw.dead_letter_events and the
original on the DLQ topic). What "now passes" comes from changes of the rules, the real decoder
deciding: a post dated an hour ahead is rejected under the consumer's 5-minute tolerance and
accepted by a replay given a 6-hour one, and an oversized value passes once the size limit
(`streaming.decode.MAX_VALUE_BYTES`) is raised, as a contract change would raise it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from conftest import TEST_PSEUDONYM_KEY
from support.ingest import Record, produce_exactly, read_topic
from support.pipeline import consume

from pulse.maintenance.erasure import apply_erasures
from pulse.maintenance.replay import ReplayReport, replay_dead_letters
from pulse.settings import Settings
from streaming import decode
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COMMUNITY = "brand_9.micro.trail_running"
PLATFORM = "discord"
MIB = 1024 * 1024
# The consumer's tolerance for occurred_at ahead of ingest time is 5 minutes: a post dated an
# hour ahead is a dead letter, which a replay with this tolerance accepts.
LENIENT_S = 6 * 3600.0


def _event(
    member_id: str, *, event_type: str = "post.created", hours_ahead: float = 0.0, **payload: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if event_type == "post.created":
        body = {"post_id": f"p{uuid.uuid4().hex[:8]}", "author_role": "member"}
        body["content_type"] = "text"
        body["text"] = "ten miles in the rain"
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": (datetime.now(UTC) + timedelta(hours=hours_ahead)).isoformat(),
        "community_id": COMMUNITY,
        "member_id": member_id,
        "platform": PLATFORM,
        "payload": {**body, **payload},
    }


def _future_post(member_id: str) -> dict[str, Any]:
    """A post dated an hour ahead: a `future_timestamp` dead letter for the consumer."""
    return _event(member_id, hours_ahead=1)


def _oversized_post(member_id: str) -> dict[str, Any]:
    """A post over 1 MiB (an unknown payload field the contract ignores): `oversized`."""
    return _event(member_id, padding="x" * (MIB + 1024))


Position = tuple[int, int]  # (partition, offset) on the inbound topic


def _ingest(settings: Settings, events: list[dict[str, Any] | bytes]) -> list[Position]:
    """Produce the events to the inbound topic and run the real consumer until drained;
    returns where each one landed (oversized dead letters have no event id to find them by)."""
    values = [e if isinstance(e, bytes) else json.dumps(e).encode() for e in events]
    positions = produce_exactly(
        str(settings.kafka_bootstrap),
        settings.events_topic,
        [(COMMUNITY.encode(), value, []) for value in values],
    )
    consume(settings)
    return positions


def _dsn(settings: Settings) -> str:
    assert settings.pg_dsn is not None
    return settings.pg_dsn.get_secret_value()


def _setup(settings: Settings) -> str:
    ensure_topics(str(settings.kafka_bootstrap), pipeline_topics(settings))
    return _dsn(settings)


def _replay(
    settings: Settings, run_id: str, *, dlq_topic: str | None = None, **options: Any
) -> ReplayReport:
    return replay_dead_letters(
        _dsn(settings),
        str(settings.kafka_bootstrap),
        TEST_PSEUDONYM_KEY,
        run_id=run_id,
        events_topic=settings.events_topic,
        dlq_topic=dlq_topic or settings.dlq_topic,
        **{"future_tolerance_s": LENIENT_S, **options},
    )


def _letters(dsn: str) -> dict[Position, tuple[int, str, bool]]:
    """Source position -> (dead_letter_id, reason, replayed) of every dead letter."""
    with psycopg.connect(dsn) as conn:
        return {
            (partition, offset): (letter_id, reason, replayed)
            for letter_id, partition, offset, reason, replayed in conn.execute(
                "select dead_letter_id, source_partition, source_offset, reason, "
                "replayed_at is not null from raw.dead_letter_events"
            )
        }


def _outcomes(dsn: str, run_id: str) -> dict[int, tuple[str, str | None, str | None]]:
    """dead_letter_id -> (outcome, current_reason, current_detail) recorded by one replay."""
    with psycopg.connect(dsn) as conn:
        return {
            letter_id: (outcome, reason, detail)
            for letter_id, outcome, reason, detail in conn.execute(
                "select dead_letter_id, outcome, current_reason, current_detail "
                "from quality.dead_letter_replays where run_id = %s",
                [run_id],
            )
        }


def _copies(settings: Settings, sent: int) -> list[dict[str, Any]]:
    """The re-injected messages on the inbound topic (those with `pulse.replay.of`), as JSON.

    `sent` is what the test produced itself: the topic is read until those arrived and then
    nothing more came.
    """
    records = read_topic(str(settings.kafka_bootstrap), settings.events_topic, expected=sent)
    return [
        json.loads(r.value or b"")
        for r in records
        if any(name == "pulse.replay.of" for name, _ in r.headers)
    ]


def _state(dsn: str) -> tuple[list[tuple[Any, ...]], int]:
    """Every dead letter row, and the number of recorded replay outcomes."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("select * from raw.dead_letter_events order by 1").fetchall()
        outcomes = conn.execute("select count(*) from quality.dead_letter_replays").fetchone()
    assert outcomes is not None
    return rows, outcomes[0]


# -- erased_member --------------------------------------------------------------------------------


def test_a_member_erased_after_their_dead_letters_were_recorded_is_never_re_injected(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn = _setup(settings)
    kept_future, kept_big = _future_post("kept-1"), _oversized_post("kept-1")
    erased_future, erased_big, kept_future_at, kept_big_at = _ingest(
        settings,
        [_future_post("erased-1"), _oversized_post("erased-1"), kept_future, kept_big],
    )
    letters = _letters(dsn)
    assert {position: letters[position][1] for position in letters} == {
        erased_future: "future_timestamp",
        erased_big: "oversized",
        kept_future_at: "future_timestamp",
        kept_big_at: "oversized",
    }

    # The member is erased after their dead letters were recorded.
    _ingest(settings, [_event("erased-1", event_type="member.erased")])
    apply_erasures(dsn, run_id="erasure-before-replay")
    letters = _letters(dsn)
    # The redacted copy of their future post carried their key: the erasure deleted that row.
    # Nothing of the oversized one was parsed, so its row holds no key and stays: only the
    # replay, reading the original, can tell whose it is.
    assert erased_future not in letters
    assert erased_big in letters

    monkeypatch.setattr(decode, "MAX_VALUE_BYTES", 4 * MIB)  # the size limit is raised
    report = _replay(settings, "replay-1")
    assert (report.selected, report.reinjected, report.erased_member) == (3, 2, 1)
    assert _outcomes(dsn, "replay-1") == {
        letters[erased_big][0]: ("erased_member", None, None),
        letters[kept_future_at][0]: ("reinjected", None, None),
        letters[kept_big_at][0]: ("reinjected", None, None),
    }
    # Not marked replayed: a later replay meets it again, and again does not send it.
    assert _letters(dsn)[erased_big][2] is False
    again = _replay(settings, "replay-2")
    assert (again.selected, again.reinjected, again.erased_member) == (1, 0, 1)

    copies = _copies(settings, sent=5)
    assert sorted(c["event_id"] for c in copies) == sorted(
        [kept_future["event_id"], kept_big["event_id"]]
    )
    assert {c["member_id"] for c in copies} == {"kept-1"}


# -- dry_run --------------------------------------------------------------------------------------


def _comparable(report: ReplayReport) -> dict[str, Any]:
    return {k: v for k, v in report.as_dict().items() if k not in ("run_id", "dry_run", "seconds")}


def test_a_dry_run_decides_as_a_replay_would_and_changes_nothing(settings: Settings) -> None:
    dsn = _setup(settings)
    passing = [_future_post("runner-1"), _future_post("runner-2")]
    positions = _ingest(settings, [*passing, b'{"event_id": "cut short'])
    # A dead letter whose original the DLQ topic no longer holds (retention).
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into raw.dead_letter_events (source_topic, source_partition, source_offset, "
            "reason, detail, value_bytes, value_sha256) values (%s, 0, 999999, "
            "'schema_violation', 'kept longer than the DLQ topic', 3, %s)",
            [settings.events_topic, hashlib.sha256(b"old").hexdigest()],
        )
    before = _state(dsn)

    dry = _replay(settings, "dry", dry_run=True)
    assert dry.dry_run is True
    assert (dry.selected, dry.reinjected, dry.still_invalid, dry.not_in_dlq_topic) == (4, 2, 1, 1)
    assert dry.still_invalid_by_reason == {"invalid_json": 1}
    letters = _letters(dsn)
    assert sorted(dry.dead_letter_ids) == sorted(letters[p][0] for p in positions[:2])
    assert _state(dsn) == before  # no row marked, no outcome recorded
    assert _copies(settings, sent=3) == []  # nothing produced

    # The real replay then does exactly what the dry run said it would.
    real = _replay(settings, "real")
    assert _comparable(real) == _comparable(dry)
    assert sorted(c["event_id"] for c in _copies(settings, sent=3 + 2)) == sorted(
        e["event_id"] for e in passing
    )


# -- the time filters -----------------------------------------------------------------------------


def test_the_time_filters_select_exactly_the_dead_letters_received_in_from_until(
    settings: Settings,
) -> None:
    dsn = _setup(settings)
    posts = [_future_post(f"runner-{n}") for n in range(4)]
    positions = _ingest(settings, posts)
    letters = _letters(dsn)
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    with psycopg.connect(dsn) as conn:
        for n, position in enumerate(positions):  # received at base + 0, 1, 2, 3 hours
            conn.execute(
                "update raw.dead_letter_events set received_at = %s where dead_letter_id = %s",
                [base + timedelta(hours=n), letters[position][0]],
            )

    def ids(*numbers: int) -> list[int]:
        return sorted(letters[positions[n]][0] for n in numbers)

    # [from, until): the one received at `from` is in, the one received at `until` is out.
    window = _replay(
        settings,
        "window",
        received_from=base + timedelta(hours=1),
        received_until=base + timedelta(hours=3),
    )
    assert (window.selected, window.dead_letter_ids) == (2, ids(1, 2))
    assert sorted(_outcomes(dsn, "window")) == ids(1, 2)
    assert sorted(c["event_id"] for c in _copies(settings, sent=4)) == sorted(
        posts[n]["event_id"] for n in (1, 2)
    )

    before = _replay(settings, "before", received_until=base + timedelta(hours=1))
    assert (before.selected, before.dead_letter_ids) == (1, ids(0))
    after = _replay(settings, "after", received_from=base + timedelta(hours=3))
    assert (after.selected, after.dead_letter_ids) == (1, ids(3))
    assert all(replayed for _, _, replayed in _letters(dsn).values())
    assert len(_copies(settings, sent=4 + 4)) == 4  # each one once


# -- not_in_dlq_topic: gone, or another message at its position -----------------------------------


def _dlq_record(settings: Settings, position: Position) -> Record:
    """The DLQ topic's copy of the dead letter from `position` of the inbound topic."""
    source = (settings.events_topic, *position)
    (record,) = [
        r
        for r in read_topic(str(settings.kafka_bootstrap), settings.dlq_topic)
        if _source(r) == source
    ]
    return record


def _source(record: Record) -> tuple[str, int, int] | None:
    headers = {name: value.decode() for name, value in record.headers}
    if "pulse.source.topic" not in headers:
        return None
    return (
        headers["pulse.source.topic"],
        int(headers["pulse.source.partition"]),
        int(headers["pulse.source.offset"]),
    )


def test_a_dead_letter_whose_original_is_gone_or_replaced_in_the_dlq_topic_is_not_re_injected(
    settings: Settings,
) -> None:
    dsn = _setup(settings)
    replaced, gone = _ingest(settings, [_future_post("runner-1"), _future_post("runner-2")])
    letters = _letters(dsn)
    original = _dlq_record(settings, replaced)

    # The DLQ topic was recreated: the originals are gone, and a message that claims the first
    # one's source position (same pulse.source.* headers) is another event, one the contract
    # accepts: re-injecting it would inject an event that was never rejected.
    recreated = f"{settings.dlq_topic}.recreated"
    ensure_topics(str(settings.kafka_bootstrap), {recreated: 1})
    impostor = json.dumps(_event("someone-else")).encode()
    produce_exactly(
        str(settings.kafka_bootstrap), recreated, [(original.key, impostor, list(original.headers))]
    )

    report = _replay(settings, "after-recreation", dlq_topic=recreated)
    assert (report.selected, report.reinjected, report.not_in_dlq_topic) == (2, 0, 2)
    outcomes = _outcomes(dsn, "after-recreation")
    assert outcomes[letters[gone][0]] == ("not_in_dlq_topic", None, None)
    outcome, reason, detail = outcomes[letters[replaced][0]]
    assert (outcome, reason) == ("not_in_dlq_topic", None)
    # It says why: a message is there, but not the one that was rejected.
    assert detail is not None and "SHA-256" in detail, detail
    assert not any(replayed for _, _, replayed in _letters(dsn).values())
    assert _copies(settings, sent=2) == []


def test_an_earlier_message_claiming_the_same_position_does_not_hide_the_original(
    settings: Settings,
) -> None:
    """The DLQ topic outlived a recreated inbound topic: an older dead letter from the same
    source position comes first, the original of the recorded one after it."""
    dsn = _setup(settings)
    post = _future_post("runner-1")
    (position,) = _ingest(settings, [post])
    original = _dlq_record(settings, position)
    kept = f"{settings.dlq_topic}.kept"
    ensure_topics(str(settings.kafka_bootstrap), {kept: 1})
    older = json.dumps(_future_post("someone-else")).encode()
    produce_exactly(
        str(settings.kafka_bootstrap),
        kept,
        [
            (original.key, older, list(original.headers)),
            (original.key, original.value, list(original.headers)),
        ],
    )

    report = _replay(settings, "kept-dlq", dlq_topic=kept)
    assert (report.selected, report.reinjected, report.not_in_dlq_topic) == (1, 1, 0)
    assert _outcomes(dsn, "kept-dlq") == {_letters(dsn)[position][0]: ("reinjected", None, None)}
    (copy,) = _copies(settings, sent=1)
    assert copy == post


# -- still_invalid with today's reason ------------------------------------------------------------


def test_a_dead_letter_still_rejected_records_the_reason_the_current_contract_gives(
    settings: Settings,
) -> None:
    dsn = _setup(settings)
    (position,) = _ingest(settings, [_future_post("runner-1")])
    letter_id = _letters(dsn)[position][0]

    report = _replay(settings, "strict", future_tolerance_s=300.0)
    assert (report.still_invalid, report.still_invalid_by_reason) == (1, {"future_timestamp": 1})
    outcome, reason, detail = _outcomes(dsn, "strict")[letter_id]
    assert (outcome, reason) == ("still_invalid", "future_timestamp")
    assert detail is not None and "ahead of ingest time" in detail
    assert _letters(dsn)[position][2] is False
    assert _copies(settings, sent=1) == []


# -- the replay lock ------------------------------------------------------------------------------


def test_two_replays_at_once_re_inject_each_dead_letter_once(settings: Settings) -> None:
    dsn = _setup(settings)
    posts = [_future_post(f"runner-{n}") for n in range(6)]
    _ingest(settings, posts)
    start = threading.Barrier(2)
    reports: dict[str, ReplayReport] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            start.wait(timeout=30)
            reports[name] = _replay(settings, name)
        except BaseException as error:  # reported below, with the other thread's result
            errors.append(error)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("dag", "cli")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(r.reinjected for r in reports.values()) == [0, 6]
    assert sorted(c["event_id"] for c in _copies(settings, sent=6)) == sorted(
        p["event_id"] for p in posts
    )
    with psycopg.connect(dsn) as conn:
        reinjected = conn.execute(
            "select count(*), count(distinct dead_letter_id) from quality.dead_letter_replays "
            "where outcome = 'reinjected'"
        ).fetchone()
    assert reinjected == (6, 6)
