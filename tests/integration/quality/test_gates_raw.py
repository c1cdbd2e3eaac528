"""The raw gate on a real warehouse: each rule of the raw suites fails on its own defect only.

Events are written straight into raw.community_events with SQL (the consumer would reject most
of these defects; the gate is the second line of defence and must not trust the first).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from pulse.errors import PulseError
from pulse.quality import GateResult, GateSettings, copy_project, run_raw_gate
from pulse.settings import Settings

pytestmark = pytest.mark.integration

DAY = datetime(2026, 3, 10, tzinfo=UTC)
ONE_DAY = timedelta(days=1)


def insert_events(
    dsn: str,
    start: datetime,
    count: int,
    *,
    event_type: str = "reaction.added",
    community: str = "brand_1.micro.plant_care",
    member_key: str | None = "encode(sha256(('member' || (i %% 40))::bytea), 'hex')",
    span: timedelta = ONE_DAY,
) -> None:
    """`count` events spread over [start, start + span); member_key is an SQL expression."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into raw.community_events (event_id, event_type, schema_version, "
            "occurred_at, community_id, member_key, platform, payload, source_topic, "
            "source_partition, source_offset) "
            f"select gen_random_uuid(), %(type)s, 1, %(start)s + (i * %(span)s / %(n)s), "
            f"%(community)s, {member_key or 'null'}, 'discord', '{{}}', 'test.raw', 0, i "
            "from generate_series(0, %(n)s - 1) as i",
            {"type": event_type, "start": start, "span": span, "n": count, "community": community},
        )


def insert_dead_letters(dsn: str, count: int) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into raw.dead_letter_events (source_topic, source_partition, source_offset, "
            "reason, detail, value_bytes, value_sha256) "
            "select 'test.raw', 1, i, 'invalid_json', 'not json', 3, 'x' "
            "from generate_series(1, %s) as i",
            [count],
        )


def busy_week(dsn: str, per_day: int = 100) -> None:
    """Seven ordinary days before DAY."""
    for back in range(7, 0, -1):
        insert_events(dsn, DAY - back * ONE_DAY, per_day)


def failures(result: GateResult) -> set[tuple[str, str | None]]:
    return {(outcome.suite, outcome.column) for outcome in result.failed}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("gx-raw"))


@pytest.fixture
def gates(project: Path) -> GateSettings:
    return GateSettings.from_settings(Settings(gx_project_dir=project))


@pytest.fixture
def gate(pg_dsn: str, gates: GateSettings) -> Iterator:
    def run(start: datetime = DAY, end: datetime = DAY + ONE_DAY, **kwargs) -> GateResult:
        return run_raw_gate(
            pg_dsn,
            run_id=f"test__{start:%Y%m%dT%H%M}",
            interval_start=start,
            interval_end=end,
            gate_settings=gates,
            **kwargs,
        )

    yield run


def test_an_ordinary_day_passes_and_every_result_is_stored(pg_dsn: str, gate) -> None:
    busy_week(pg_dsn)
    insert_events(pg_dsn, DAY, 110)

    result = gate()

    assert result.success, "\n".join(result.summary_lines())
    [volume] = [o for o in result.outcomes if o.column == "volume_ratio"]
    assert volume.observed_value == {
        "volume_ratio": 1.1,
        "interval_events": 110,
        "trailing_avg_events": 100.0,
        "history_intervals": 7,
    }
    with psycopg.connect(pg_dsn) as conn:
        stored = conn.execute(
            "select count(*), bool_and(success), count(distinct suite) "
            "from quality.validation_results where validation_run_id = %s",
            [result.validation_run_id],
        ).fetchone()
        events = conn.execute(
            "select element_count from quality.validation_results "
            "where validation_run_id = %s and expectation = 'expect_column_values_to_be_unique'",
            [result.validation_run_id],
        ).fetchone()
    assert stored == (len(result.outcomes), True, 2)
    assert events == (110,)  # the interval's rows only, not the week before
    assert result.data_docs_index is not None and result.data_docs_index.is_file()


def test_the_first_interval_skips_the_volume_band_and_says_so(pg_dsn: str, gate) -> None:
    insert_events(pg_dsn, DAY, 5)

    result = gate()

    assert result.success
    [volume] = [o for o in result.outcomes if o.column == "volume_ratio"]
    assert volume.observed_value["checked"] is False
    assert volume.observed_value["history_intervals"] == 0
    assert any("volume band not checked" in note for note in result.notes)
    assert any("volume band not checked" in line for line in result.summary_lines())


def test_a_sudden_drop_to_nothing_fails_the_volume_band(pg_dsn: str, gate) -> None:
    busy_week(pg_dsn)

    result = gate()  # DAY itself holds no event at all

    assert failures(result) == {("raw_volume", "volume_ratio")}
    assert "ratio 0.0: 0 events vs trailing average 100.0" in "\n".join(result.summary_lines())


def test_a_tenfold_surge_fails_the_volume_band(pg_dsn: str, gate) -> None:
    busy_week(pg_dsn, per_day=20)
    insert_events(pg_dsn, DAY, 20 * 11)

    assert failures(gate()) == {("raw_volume", "volume_ratio")}


def test_too_many_dead_letters_fail_the_dead_letter_share(pg_dsn: str, gate) -> None:
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    insert_events(pg_dsn, hour - timedelta(hours=1), 100, span=timedelta(hours=1))
    insert_dead_letters(pg_dsn, 10)  # received now: 10 of 110 arrivals, above 5 %

    result = gate(hour - timedelta(hours=1), hour + timedelta(hours=1), now=now)

    assert failures(result) == {("raw_volume", "dead_letter_share")}
    [dead] = result.failed
    assert dead.observed_value["dead_letter_share"] == pytest.approx(10 / 110, abs=1e-4)


@pytest.mark.parametrize(
    ("defect", "kwargs", "expected"),
    [
        ("unknown_event_type", {"event_type": "post.deleted"}, ("raw_events", "event_type")),
        (
            "bad_community_id",
            {"community": "brand 1/plant care"},
            ("raw_events", "community_id"),
        ),
        ("community_id_too_long", {"community": "c" * 65}, ("raw_events", "community_id")),
        ("member_key_missing", {"member_key": None}, ("raw_events", "member_key")),
        ("raw_member_id_stored", {"member_key": "'u12345'"}, ("raw_events", "member_key")),
    ],
)
def test_a_contract_violation_fails_its_own_expectation(
    pg_dsn: str, gate, defect: str, kwargs: dict, expected: tuple[str, str]
) -> None:
    busy_week(pg_dsn)
    insert_events(pg_dsn, DAY, 99)
    insert_events(pg_dsn, DAY + timedelta(hours=5), 1, **kwargs)

    result = gate()

    assert failures(result) == {expected}, defect
    assert result.failed[0].unexpected_count == 1


def test_upserts_need_no_member_key(pg_dsn: str, gate) -> None:
    insert_events(pg_dsn, DAY, 3, event_type="community.upserted", member_key=None)

    assert gate().success


def test_a_future_event_is_caught_by_whichever_interval_is_validated(pg_dsn: str, gate) -> None:
    """A row dated tomorrow belongs to no interval validated yet: today's gate must see it."""
    busy_week(pg_dsn)
    insert_events(pg_dsn, DAY, 100)
    now = DAY + timedelta(days=1, hours=2)
    insert_events(pg_dsn, now + timedelta(hours=1), 1, span=timedelta(minutes=1))

    result = gate(now=now)

    assert failures(result) == {("raw_events", "occurred_at")}
    # Within the ingest tolerance (5 minutes) is not the future.
    assert gate(now=now + timedelta(minutes=56)).success


def test_gates_of_different_intervals_in_one_process_see_only_their_rows(pg_dsn: str, gate) -> None:
    insert_events(pg_dsn, DAY - ONE_DAY, 50)
    insert_events(pg_dsn, DAY, 80)
    insert_events(pg_dsn, DAY + timedelta(hours=3), 1, event_type="post.deleted")

    first = gate(DAY - ONE_DAY, DAY)
    second = gate()

    assert first.success
    assert failures(second) == {("raw_events", "event_type")}
    counts = {
        result.run_id: next(o.element_count for o in result.outcomes if o.column == "event_id")
        for result in (first, second)
    }
    assert sorted(counts.values()) == [50, 81]


def test_an_interval_without_length_is_refused(gates: GateSettings) -> None:
    # A moment without an offset is UTC (pulse.timestamps), so this interval is empty too.
    with pytest.raises(PulseError, match="empty"):
        run_raw_gate(
            "postgresql://nowhere/none",
            run_id="x",
            interval_start=datetime(2026, 1, 1),
            interval_end=datetime(2026, 1, 1, tzinfo=UTC),
            gate_settings=gates,
        )
    with pytest.raises(PulseError, match="empty"):
        run_raw_gate(
            "postgresql://nowhere/none",
            run_id="x",
            interval_start=DAY,
            interval_end=DAY,
            gate_settings=gates,
        )


def test_the_arrival_window_validates_late_events_and_nothing_older(pg_dsn: str, gate) -> None:
    """A pipeline run validates what it will build from: the rows that arrived in its window,
    whatever day they occurred on (a late event of last week is checked now), and not the rows
    that arrived before it (an earlier run validated those)."""
    busy_week(pg_dsn)
    insert_events(pg_dsn, DAY, 100)
    with psycopg.connect(pg_dsn) as conn:
        # Everything so far arrived an hour ago; the window starts half an hour ago.
        conn.execute("update raw.community_events set ingested_at = now() - interval '1 hour'")
        window_start = conn.execute("select now() - interval '30 minutes'").fetchone()[0]  # type: ignore[index]
    # A late event from last week with a raw member id: outside the interval, inside the window.
    insert_events(pg_dsn, DAY - 5 * ONE_DAY, 1, member_key="'u12345'")
    with psycopg.connect(pg_dsn) as conn:
        window_end = conn.execute("select now()").fetchone()[0]  # type: ignore[index]

    result = gate(arrived_from=window_start, arrived_through=window_end)

    assert failures(result) == {("raw_events", "member_key")}
    [unique] = [o for o in result.outcomes if o.column == "event_id" and "unique" in o.expectation]
    assert unique.element_count == 100 + 1  # the interval's events and the late arrival only
    # Without the window (a manual `pulse validate` of the interval) the late event is not read.
    assert gate().success
