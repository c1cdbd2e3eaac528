"""The community_metrics DAG end to end, through `dag.test()`, on a real broker, a real warehouse
and a real Airflow metadata database (SQLite, in a private AIRFLOW_HOME).

One warehouse is prepared per module: generated events are produced to the inbound topic and
consumed into raw, then the last generated day is run twice (as `pulse run` does, same interval,
same Airflow run id). Tests read what a downstream consumer would read from the outbound topics
and compare it with the marts the run validated; the erasure test then uses the same warehouse.
Tests that need a failing run get their own warehouse (the `settings` fixture).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
import pytest
from conftest import TEST_PSEUDONYM_KEY
from kafka import KafkaProducer
from psycopg import sql
from support.pipeline import Message, consume, private_airflow, pulse_environment, read_topic

from pulse import orchestration
from pulse.local.generator import GeneratorConfig, generate, produce
from pulse.local.stack import StackInfo
from pulse.orchestration.dbt import run_dbt
from pulse.settings import Settings
from pulse.warehouse.init import ensure_pipeline_tables, init_warehouse
from pulse.warehouse.names import MARTS
from streaming.decode import EVENT_COLUMNS, Decoder, EventRow
from streaming.privacy import Pseudonymizer
from streaming.schemas import SCHEMA_DIR
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dbt"


# -- Airflow, once per test session ---------------------------------------------------------------


# -- broker and warehouse helpers -----------------------------------------------------------------


def schema_validator(topic: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{topic}.schema.json").read_text())
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def rows(dsn: str, query: sql.Composable | str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def tables_holding(dsn: str, needle: str) -> dict[str, int]:
    """Rows, per base table of every non-system schema, whose text form contains `needle`."""
    found = {}
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' "
            "and table_schema not in ('pg_catalog', 'information_schema') "
            "and table_schema not like 'pg\\_%%'"
        ).fetchall()
        for schema, table in tables:
            count = conn.execute(
                sql.SQL("select count(*) from {} as t where strpos(t::text, %s) > 0").format(
                    sql.Identifier(schema, table)
                ),
                [needle],
            ).fetchone()[0]  # type: ignore[index]
            if count:
                found[f"{schema}.{table}"] = count
    return found


def plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


# -- the module's warehouse: generated events, the last day run twice -----------------------------


@dataclass
class World:
    settings: Settings
    dsn: str
    start: datetime
    end: datetime
    valid_events: list[dict[str, Any]]
    first: orchestration.RunSummary
    second: orchestration.RunSummary
    metrics_first: list[Message]
    alerts_first: list[Message]
    metrics_all: list[Message] = field(default_factory=list)
    alerts_all: list[Message] = field(default_factory=list)


def _admin_dsn(info: StackInfo, database: str = "postgres") -> str:
    return f"postgresql://postgres@127.0.0.1:{info.pg_port}/{database}"


@pytest.fixture(scope="module")
def world(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    private_airflow()
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_dsn(stack_info), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = _admin_dsn(stack_info, name)
    init_warehouse(dsn)
    ensure_pipeline_tables(dsn)
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=stack_info.kafka_bootstrap,
        pg_dsn=dsn,
        pseudonym_key=TEST_PSEUDONYM_KEY,
        state_dir=tmp_path_factory.mktemp("state") / ".pulse",
        events_topic=f"test.events.{suffix}",
        dlq_topic=f"test.dlq.{suffix}",
        metrics_topic=f"test.metrics.{suffix}",
        alerts_topic=f"test.alerts.{suffix}",
        events_partitions=3,
        consumer_group=f"test-ingest-{suffix}",
    )
    ensure_topics(stack_info.kafka_bootstrap, pipeline_topics(settings))
    config = GeneratorConfig(seed=7, events=8_000, days=14)
    messages = list(generate(config))
    produce(messages, stack_info.kafka_bootstrap, settings.events_topic, show_progress=False)
    consume(settings)
    valid = [json.loads(m.value) for m in messages if m.kind == "valid" and m.value]
    end = max(datetime.fromisoformat(e["occurred_at"]) for e in valid).replace(
        hour=0, minute=0, second=0, microsecond=0
    ) + timedelta(days=1)
    start = end - timedelta(days=1)

    patch = pytest.MonkeyPatch()
    for variable, value in pulse_environment(settings).items():
        patch.setenv(variable, value)
    try:
        first = orchestration.run_once(settings, start, end)
        metrics_first = read_topic(
            stack_info.kafka_bootstrap, settings.metrics_topic, first.metrics_published or 0
        )
        alerts_first = read_topic(
            stack_info.kafka_bootstrap, settings.alerts_topic, first.alerts_published or 0
        )
        second = orchestration.run_once(settings, start, end)
        found = World(settings, dsn, start, end, valid, first, second, metrics_first, alerts_first)
        found.metrics_all = read_topic(
            stack_info.kafka_bootstrap, settings.metrics_topic, 2 * len(metrics_first)
        )
        found.alerts_all = read_topic(
            stack_info.kafka_bootstrap, settings.alerts_topic, len(alerts_first)
        )
        yield found
    finally:
        patch.undo()
        with psycopg.connect(_admin_dsn(stack_info), autocommit=True) as conn:
            conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


# -- end to end -----------------------------------------------------------------------------------


def test_a_run_goes_through_every_step_and_records_itself(world: World) -> None:
    first = world.first
    assert first.status == "success", first.headline()
    assert first.interval_start == world.start and first.interval_end == world.end
    assert set(first.step_seconds) == set(orchestration.STEPS)
    assert {"start_run", "dbt_build", "publish"} <= set(first.task_seconds)
    (row,) = rows(
        world.dsn,
        "select raw_gate_success, marts_gate_success, promoted, mart_rows, "
        "raw_events_in_interval, raw_events_total, finished_at, details "
        "from quality.pipeline_runs where pipeline_run_id = %s",
        [first.pipeline_run_id],
    )
    raw_ok, marts_ok, promoted, mart_rows, in_interval, total, finished, details = row
    assert raw_ok and marts_ok and promoted
    assert mart_rows["fct_community_daily"] > 0 and set(mart_rows) >= {"dim_community"}
    assert 0 < in_interval < total
    assert finished is not None
    assert details["freshness"]["fresh"] is True
    assert details["dbt"]["nodes"] > 0
    # BI now reads the second run's build; the first one is kept to roll back to.
    (live,) = rows(
        world.dsn, "select build_schema from quality.promotions order by promotion_id desc limit 1"
    )
    assert live[0] == world.second.build_schema != first.build_schema
    # The first run built everything; the second only what arrived since the first's build.
    modes = rows(
        world.dsn,
        "select build_mode, base_build, arrived_from, arrived_through, raw_events_arrived "
        "from quality.pipeline_runs where pipeline_run_id = any(%s) order by pipeline_run_id",
        [[first.pipeline_run_id, world.second.pipeline_run_id]],
    )
    assert [(mode, base) for mode, base, *_ in modes] == [
        ("full", None),
        ("incremental", first.build_schema),
    ]
    (_, _, first_from, first_through, arrived_first), (_, _, second_from, _, _) = modes
    margin = timedelta(seconds=world.settings.pipeline_arrival_margin_s)
    # The first read everything that had arrived; the second from the first's watermark on.
    assert first_from is None and arrived_first >= in_interval
    assert second_from == first_through - margin


def test_metrics_messages_are_the_validated_marts_of_each_community_day(world: World) -> None:
    validator = schema_validator("community.metrics.v1")
    day = world.start.date()
    expected = {
        row[0]: row
        for row in rows(
            world.dsn,
            sql.SQL(
                "select community_id, is_suppressed, active_members, posts, engagements, "
                "brand_voice_share, negative_share, engagement_rate from {} "
                "where activity_date = %s"
            ).format(sql.Identifier(world.first.build_schema, "fct_community_daily")),
            [day],
        )
    }
    assert expected, "the build has no row for the interval's day"
    seen = {}
    for message in world.metrics_first:
        body = message.json()
        validator.validate(body)
        assert message.key == body["community_id"].encode()
        assert body["activity_date"] == day.isoformat() and body["day_complete"] is True
        assert body["run_id"] == world.first.run_id
        seen[body["community_id"]] = body
    assert set(seen) == set(expected)
    assert len(world.metrics_first) == len(expected)
    for community, row in expected.items():
        body = seen[community]
        figures = ("is_suppressed", "active_members", "posts", "engagements")
        assert tuple(body[name] for name in figures) == row[1:5], community
        for name, value in zip(
            ("brand_voice_share", "negative_share", "engagement_rate"), row[5:], strict=True
        ):
            assert body[name] == pytest.approx(plain(value)), (community, name)
    assert any(not body["is_suppressed"] for body in seen.values())


def _expected_alerts(world: World) -> set[tuple[str, str, str]]:
    """The four rules, written again in SQL over the validated build (default thresholds)."""
    build = world.first.build_schema
    day_rules = sql.SQL(
        """with days as (
    select * from {daily}
), today as (
    select * from days
    where activity_date = %(day)s and not is_suppressed and posts + comments >= 10
), history as (
    select today.community_id,
        avg(h.negative_share) as negative_base, count(h.negative_share) as negative_days,
        avg(h.engagements_per_post) as engagement_base,
        count(h.engagements_per_post) as engagement_days
    from today
    join days as h
        on h.community_id = today.community_id and not h.is_suppressed
        and h.activity_date between today.activity_date - 7 and today.activity_date - 1
    group by today.community_id
)
select 'negative_sentiment_spike', today.community_id, %(day)s::text
from today join history using (community_id)
where history.negative_days >= 3 and today.negative_share >= 0.35
    and today.negative_share - history.negative_base >= 0.15
union all
select 'engagement_drop', today.community_id, %(day)s::text
from today join history using (community_id)
where history.engagement_days >= 3 and history.engagement_base > 0 and today.posts > 0
    and 1 - today.engagements_per_post / history.engagement_base >= 0.5
union all
select 'brand_voice_too_high', community_id, %(day)s::text from today
where brand_voice_share > 0.5
union all
select 'idea_unanswered', community_id, idea_id from {ideas}
where submitted_at <= %(end)s - interval '7 days'
    and (first_response_at is null or first_response_at >= %(end)s)"""
    ).format(
        daily=sql.Identifier(build, "fct_community_daily"),
        ideas=sql.Identifier(build, "fct_feedback_ideas"),
    )
    found = rows(world.dsn, day_rules, {"day": world.start.date(), "end": world.end})
    return {(kind, community, subject) for kind, community, subject in found}


def test_alerts_are_the_rules_applied_to_the_validated_marts(world: World) -> None:
    validator = schema_validator("community.alerts.v1")
    bodies = [message.json() for message in world.alerts_first]
    for message, body in zip(world.alerts_first, bodies, strict=True):
        validator.validate(body)
        assert message.key == body["community_id"].encode()
        assert body["run_id"] == world.first.run_id
    published = {(b["alert_type"], b["community_id"], b["subject"]) for b in bodies}
    expected = _expected_alerts(world)
    assert published == expected
    kinds = {kind for kind, _, _ in published}
    # The generator makes one brand-voiced micro community per brand, a broad community that
    # turns negative in the last days, and ideas nobody answers.
    assert {"negative_sentiment_spike", "brand_voice_too_high", "idea_unanswered"} <= kinds
    assert len({b["alert_id"] for b in bodies}) == len(bodies)
    assert world.first.alerts_published == len(bodies)
    (recorded,) = rows(world.dsn, "select count(*) from quality.published_alerts")
    assert recorded[0] == len(bodies)


def test_the_same_interval_run_again_sends_identical_metrics_and_no_new_alert_ids(
    world: World,
) -> None:
    second = world.second
    assert second.status == "success", second.headline()
    assert second.run_id == world.first.run_id and second.attempt == world.first.attempt + 1
    # Partitions interleave the two runs' messages: compare as multisets.
    first = Counter((m.key, m.value) for m in world.metrics_first)
    assert len(first) == len(world.metrics_first)
    assert Counter((m.key, m.value) for m in world.metrics_all) == first + first
    assert [m.value for m in world.alerts_all] == [m.value for m in world.alerts_first]
    assert second.alerts_published == 0
    (again_found,) = rows(
        world.dsn,
        "select alerts_already_published from quality.pipeline_runs where pipeline_run_id = %s",
        [second.pipeline_run_id],
    )
    assert again_found[0] == len(world.alerts_first)


def test_a_full_refresh_run_rebuilds_everything_and_equals_the_incremental_one(
    world: World,
) -> None:
    """`pulse run --full-refresh` (DAG param full_refresh) rebuilds every table from all of raw;
    nothing arrived since the incremental second run, so every mart is the same, row for row."""
    patch = pytest.MonkeyPatch()
    for variable, value in pulse_environment(world.settings).items():
        patch.setenv(variable, value)
    try:
        summary = orchestration.run_once(world.settings, world.start, world.end, full_refresh=True)
    finally:
        patch.undo()
    assert summary.status == "success", summary.headline()
    ((mode, reason, requested),) = rows(
        world.dsn,
        "select build_mode, build_mode_reason, full_refresh_requested "
        "from quality.pipeline_runs where pipeline_run_id = %s",
        [summary.pipeline_run_id],
    )
    assert (mode, requested) == ("full", True) and "full_refresh" in reason
    for mart in MARTS:
        query = sql.SQL("(table {} except table {}) union all (table {} except table {})")
        full = sql.Identifier(summary.build_schema, mart)
        incremental = sql.Identifier(world.second.build_schema, mart)
        assert rows(world.dsn, query.format(full, incremental, incremental, full)) == [], mart


def test_the_schedule_is_a_setting_and_runs_never_pile_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private_airflow()
    monkeypatch.setenv("PULSE_PIPELINE_SCHEDULE", "*/5 * * * *")
    dag = orchestration.load_dag("community_metrics")
    assert dag.timetable.expression == "*/5 * * * *"
    # One run at a time and no catchup: a slow run delays the next one, which then catches up
    # everything that arrived (it reads by arrival, not by its interval).
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert dag.params["full_refresh"] is False


# -- erasure (after the runs above, on the same warehouse) ----------------------------------------


def test_a_run_leaves_no_row_of_a_member_erased_before_it(world: World) -> None:
    """The privacy contract: after the next run no row in any schema carries an erased key."""
    erased = {
        Pseudonymizer(TEST_PSEUDONYM_KEY).member_key(e.get("platform"), e["member_id"])
        for e in world.valid_events
        if e["event_type"] == "member.erased"
    }
    assert erased, "the generated world should hold erasure requests"
    for key in erased:
        assert tables_holding(world.dsn, key) == {}


def _most_active_member(world: World) -> dict[str, Any]:
    erased = {e["member_id"] for e in world.valid_events if e["event_type"] == "member.erased"}
    counts: dict[tuple[str, str, str], int] = {}
    for event in world.valid_events:
        if event["event_type"] in ("post.created", "comment.created") and (
            event["member_id"] not in erased
        ):
            who = (event.get("platform") or "", event["member_id"], event["community_id"])
            counts[who] = counts.get(who, 0) + 1
    platform, member_id, community = max(counts, key=lambda who: counts[who])
    return {"platform": platform, "member_id": member_id, "community_id": community}


def test_member_erasure_removes_an_erased_members_key_from_every_table(world: World) -> None:
    member = _most_active_member(world)
    key = Pseudonymizer(TEST_PSEUDONYM_KEY).member_key(member["platform"], member["member_id"])
    before = tables_holding(world.dsn, key)
    assert "raw.community_events" in before
    assert any(table.startswith("staging.") for table in before), before
    assert any(table.startswith("intermediate.") for table in before), before
    daily_rows = rows(world.dsn, "select count(*) from marts.fct_community_daily")[0][0]

    request = {
        "event_id": str(uuid.uuid4()),
        "event_type": "member.erased",
        "schema_version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "community_id": member["community_id"],
        "member_id": member["member_id"],
        "platform": member["platform"],
        "payload": {},
    }
    sender = KafkaProducer(bootstrap_servers=world.settings.kafka_bootstrap)
    sender.send(
        world.settings.events_topic,
        key=member["community_id"].encode(),
        value=json.dumps(request).encode(),
    ).get(timeout=30)
    sender.close()
    consume(world.settings)

    patch = pytest.MonkeyPatch()
    for variable, value in pulse_environment(world.settings).items():
        patch.setenv(variable, value)
    try:
        dag_run = orchestration.load_dag("member_erasure").test(logical_date=datetime.now(UTC))
    finally:
        patch.undo()
    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS")

    assert tables_holding(world.dsn, key) == {}
    digest = rows(
        world.dsn,
        "select member_key_sha256 from quality.member_erasures where erasure_event_id = %s",
        [request["event_id"]],
    )
    assert digest and digest[0][0] != key
    (run,) = rows(
        world.dsn,
        "select requests, members, rows_deleted from quality.erasure_runs "
        "order by erasure_run_id desc limit 1",
    )
    requests, members, deleted = run
    assert requests >= 1 and members >= 1
    assert deleted["raw.community_events"] >= before["raw.community_events"]
    assert any(table.startswith("staging.") for table in deleted)
    # The member's past activity stays as anonymous counts.
    assert rows(world.dsn, "select count(*) from marts.fct_community_daily")[0][0] == daily_rows

    # An event of the member that arrives after the erasure (a late delivery) is found by the
    # digest and erased by the next run.
    late = Decoder(Pseudonymizer(TEST_PSEUDONYM_KEY), timedelta(minutes=5)).decode(
        world.settings.events_topic,
        0,
        10**9,
        None,
        json.dumps(
            {**request, "event_id": str(uuid.uuid4()), "event_type": "member.left"}
        ).encode(),
    )
    assert isinstance(late, EventRow) and late.member_key == key
    copy = sql.SQL("copy raw.community_events ({}) from stdin").format(
        sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
    )
    with psycopg.connect(world.dsn) as conn, conn.cursor().copy(copy) as writer:
        writer.write_row(late.copy_row(world.settings.events_topic))
    assert tables_holding(world.dsn, key) == {"raw.community_events": 1}
    from pulse.maintenance.erasure import apply_erasures, verify_erasures

    report = apply_erasures(world.dsn, run_id="test-late-arrival")
    assert report.late_arrivals == 1
    assert tables_holding(world.dsn, key) == {}
    assert verify_erasures(world.dsn) == {}


# -- runs that must stop --------------------------------------------------------------------------


def _load_fixture_events(settings: Settings, name: str) -> int:
    assert settings.pg_dsn is not None
    decoder = Decoder(Pseudonymizer(TEST_PSEUDONYM_KEY), timedelta(minutes=5))
    lines = [line for line in (FIXTURES / name).read_bytes().splitlines() if line.strip()]
    stored = []
    for offset, value in enumerate(lines):
        row = decoder.decode(settings.events_topic, 0, offset, None, value)
        assert isinstance(row, EventRow), row
        stored.append(row.copy_row(settings.events_topic))
    copy = sql.SQL("copy raw.community_events ({}) from stdin").format(
        sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
    )
    dsn = settings.pg_dsn.get_secret_value()
    with psycopg.connect(dsn) as conn, conn.cursor().copy(copy) as writer:
        for row in stored:
            writer.write_row(row)
    return len(stored)


def test_a_failing_raw_gate_stops_before_dbt_marks_the_run_failed_and_publishes_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_airflow()
    assert settings.pg_dsn is not None
    dsn = settings.pg_dsn.get_secret_value()
    ensure_pipeline_tables(dsn)
    ensure_topics(str(settings.kafka_bootstrap), pipeline_topics(settings))
    assert _load_fixture_events(settings, "events_initial.jsonl") > 0
    # A row dated the day after tomorrow, written past the consumer (which would reject it).
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into raw.community_events (event_id, event_type, schema_version, "
            "occurred_at, community_id, member_key, payload, source_topic, source_partition, "
            "source_offset) select gen_random_uuid(), event_type, 1, now() + interval '2 days', "
            "community_id, member_key, payload, source_topic, source_partition, 99999 "
            "from raw.community_events where event_type = 'post.created' limit 1"
        )
    for variable, value in pulse_environment(settings).items():
        monkeypatch.setenv(variable, value)

    # No run params: the hourly data interval of the schedule, 11:00-12:00.
    logical = datetime(2026, 1, 5, 12, tzinfo=UTC)
    dag_run = orchestration.load_dag("community_metrics").test(
        logical_date=logical, run_after=logical
    )
    assert "failed" in str(dag_run.state).lower()

    summary = orchestration.latest_run(dsn, dag_run.run_id)
    assert summary is not None
    assert summary.status == "failed" and summary.failed_step == "raw_gate"
    assert summary.interval_start == datetime(2026, 1, 5, 11, tzinfo=UTC)
    assert summary.error is not None and "raw gate FAILED" in summary.error
    assert "dbt_build" not in summary.step_seconds and summary.build_schema is None
    (gate,) = rows(
        dsn,
        "select raw_gate_success, raw_gate_summary from quality.pipeline_runs "
        "where pipeline_run_id = %s",
        [summary.pipeline_run_id],
    )
    assert gate[0] is False and "occurred_at" in gate[1]
    schemas = {r[0] for r in rows(dsn, "select nspname from pg_namespace")}
    assert "staging" not in schemas and not any(s.startswith("build_") for s in schemas)
    assert rows(dsn, "select count(*) from quality.published_alerts")[0][0] == 0
    bootstrap = str(settings.kafka_bootstrap)
    assert read_topic(bootstrap, settings.metrics_topic, settle_s=1.0) == []
    assert read_topic(bootstrap, settings.alerts_topic, settle_s=1.0) == []


def test_stale_ingest_reschedules_then_fails_with_the_reason(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_airflow()
    assert settings.pg_dsn is not None
    dsn = settings.pg_dsn.get_secret_value()
    ensure_pipeline_tables(dsn)
    bootstrap = str(settings.kafka_bootstrap)
    ensure_topics(bootstrap, pipeline_topics(settings))
    sender = KafkaProducer(bootstrap_servers=bootstrap)
    for n in range(30):  # produced, never consumed
        sender.send(settings.events_topic, key=b"c1", value=b'{"n": %d}' % n)
    sender.flush()
    sender.close()
    for variable, value in {
        **pulse_environment(settings),
        "PULSE_FRESHNESS_MAX_LAG": "5",
        "PULSE_FRESHNESS_POKE_INTERVAL_S": "1",
        "PULSE_FRESHNESS_TIMEOUT_S": "3",
    }.items():
        monkeypatch.setenv(variable, value)
    logical = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    dag_run = orchestration.load_dag("community_metrics").test(
        logical_date=logical, run_after=logical
    )
    assert "failed" in str(dag_run.state).lower()

    summary = orchestration.latest_run(dsn, dag_run.run_id)
    assert summary is not None
    assert summary.status == "failed" and summary.failed_step == "ingest_freshness"
    assert summary.error is not None
    assert "30 messages behind" in summary.error and "after waiting" in summary.error
    (details,) = rows(
        dsn,
        "select details from quality.pipeline_runs where pipeline_run_id = %s",
        [summary.pipeline_run_id],
    )
    freshness = details[0]["freshness"]
    assert freshness["total_lag"] == 30 and freshness["fresh"] is False
    assert freshness["waited_s"] >= 3  # it was rescheduled until the deadline
    assert "raw_gate" not in summary.step_seconds
    assert rows(dsn, "select count(*) from quality.validation_runs")[0][0] == 0


# -- real-world shape: communities that existed before the stream --------------------------------


def _members_acting_without_a_join(valid: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(community, platform, member id) of everyone who acted but never sent member.joined."""
    joined = {
        (e["community_id"], e["member_id"]) for e in valid if e["event_type"] == "member.joined"
    }
    erased = {
        (e["community_id"], e["member_id"]) for e in valid if e["event_type"] == "member.erased"
    }
    quiet = {"community.upserted", "member.joined", "member.left", "member.erased"}
    return {
        (e["community_id"], e.get("platform") or "", e["member_id"])
        for e in valid
        if e["event_type"] not in quiet
        and (e["community_id"], e["member_id"]) not in joined | erased
    }


def test_a_gated_run_over_a_brownfield_span_promotes_with_observed_members(
    settings: Settings, pg_dsn: str, tmp_path: Path
) -> None:
    """Most members of a community that existed before the stream never send member.joined.

    The whole generated span is one interval (as `pulse run --interval-start ... --interval-end
    ...` over it): every gate passes and the build is promoted; members are observed, so every
    community-day has at least as many members as active members, and the members who were
    there before the stream belong to cohorts.
    """
    private_airflow()
    ensure_pipeline_tables(pg_dsn)
    assert settings.kafka_bootstrap is not None
    ensure_topics(settings.kafka_bootstrap, pipeline_topics(settings))
    end = datetime(2026, 1, 26, tzinfo=UTC)  # a Monday: three whole ISO weeks
    config = GeneratorConfig.brownfield(seed=11, events=12_000, days=21, end=end)
    messages = list(generate(config))
    produce(messages, settings.kafka_bootstrap, settings.events_topic, show_progress=False)
    consume(settings)
    valid = [json.loads(m.value) for m in messages if m.kind == "valid" and m.value]
    preexisting = _members_acting_without_a_join(valid)
    assert len(preexisting) > 100, "the brownfield shape should make many members act unjoined"

    patch = pytest.MonkeyPatch()
    for variable, value in pulse_environment(settings).items():
        patch.setenv(variable, value)
    try:
        summary = orchestration.run_once(settings, end - timedelta(days=21), end)
    finally:
        patch.undo()
    assert summary.status == "success", summary.headline()
    (row,) = rows(
        pg_dsn,
        "select raw_gate_success, marts_gate_success, promoted from quality.pipeline_runs "
        "where pipeline_run_id = %s",
        [summary.pipeline_run_id],
    )
    assert row == (True, True, True)

    # What BI reads: no shown community-day has more active members than members.
    shown = rows(
        pg_dsn,
        "select count(*), count(*) filter (where active_members > members_total) "
        "from marts.fct_community_daily where not is_suppressed",
    )
    assert shown[0][0] > 0 and shown[0][1] == 0, shown

    # Every community-day, suppressed ones included, in a build without suppression.
    unsuppressed = f"check_{uuid.uuid4().hex[:8]}"
    run_dbt(
        ["run", "--vars", json.dumps({"marts_schema": unsuppressed})],
        pg_dsn,
        settings.model_copy(update={"min_group_size": 1}),
        target_path=tmp_path / "dbt-target",
    )
    daily = sql.Identifier(unsuppressed, "fct_community_daily")
    (counts,) = rows(
        pg_dsn,
        sql.SQL(
            "select count(*), count(*) filter (where active_members > members_total), "
            "count(*) filter (where members_new_observed > 0) from {}"
        ).format(daily),
    )
    assert counts[0] > 0 and counts[1] == 0 and counts[2] > 0, counts

    # Everyone who was there before the stream belongs to a cohort: the cohorts of each
    # community add up to every member it has seen, and each pre-existing member is one of them.
    keys = Pseudonymizer(TEST_PSEUDONYM_KEY)
    expected_keys = {(c, keys.member_key(platform or None, m)) for c, platform, m in preexisting}
    observed = set(
        rows(pg_dsn, "select community_id, member_key from intermediate.int_memberships_observed")
    )
    assert expected_keys <= observed, len(expected_keys - observed)
    cohorts = dict(
        rows(
            pg_dsn,
            sql.SQL(
                "select community_id, sum(cohort_members) from {} where weeks_since_join = 0 "
                "group by community_id"
            ).format(sql.Identifier(unsuppressed, "fct_member_retention")),
        )
    )
    seen = Counter(community for community, _ in observed)
    assert {c: int(n) for c, n in cohorts.items()} == dict(seen)
