"""The dbt project end to end: raw rows in, marts out, on hand-made and on generated events.

Raw rows are written the way the ingest consumer writes them (streaming.decode turns each
message into a row; COPY into a temporary table, then insert ... on conflict do nothing), which
is the contract between ingest and dbt. The generated-data test goes through the real topic and
consumer. Expected figures of the hand-made fixtures are worked out in the comments.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row
from support.warehouse import load_raw, pseudonym_key_of

from pulse.local.generator import GeneratorConfig, generate, produce
from pulse.orchestration.dbt import run_dbt
from pulse.settings import Settings
from pulse.warehouse.names import MARTS
from streaming.consumer import IngestConfig, IngestConsumer
from streaming.privacy import Pseudonymizer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dbt"
MARTS_SCHEMA = "analytics"
DBT_SCHEMAS = ("staging", "intermediate", MARTS_SCHEMA)


# -- helpers ------------------------------------------------------------------------------------


def fixture_messages(name: str) -> list[bytes]:
    return [line.encode() for line in (FIXTURES / name).read_text().splitlines() if line]


def dbt(args: list[str], dsn: str, settings: Settings, tmp_path: Path) -> str:
    # Small queries, latency-bound: more threads than cores still pays off.
    return run_dbt(
        args,
        dsn,
        settings,
        target_path=tmp_path / "dbt-target",
        extra_env={"PULSE_DBT_THREADS": "4"},
    )


def snapshot(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every mart's rows, in a stable order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(dsn) as conn:
        for mart in MARTS:
            relation = sql.Identifier(MARTS_SCHEMA, mart)
            empty = conn.execute(sql.SQL("select * from {} limit 0").format(relation))
            width = len(empty.description or ())
            order = sql.SQL(", ").join(sql.Literal(i) for i in range(1, width + 1))
            query = sql.SQL("select * from {} order by {}").format(relation, order)
            tables[mart] = conn.execute(query).fetchall()
    return tables


def fetch(dsn: str, query: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(query, list(params)).fetchall()


def relations_carrying(dsn: str, needle: str) -> list[str]:
    """Every table or view of the dbt schemas with a row whose text contains `needle`."""
    found = []
    with psycopg.connect(dsn) as conn:
        relations = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = any(%s)",
            [list(DBT_SCHEMAS)],
        ).fetchall()
        assert len(relations) > 20, relations
        for schema, name in relations:
            query = sql.SQL("select count(*) from {} as t where strpos(t::text, %s) > 0").format(
                sql.Identifier(schema, name)
            )
            if conn.execute(query, [needle]).fetchone()[0]:  # type: ignore[index]
                found.append(f"{schema}.{name}")
    return found


def differences(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> dict[str, int]:
    return {
        mart: len(set(before[mart]) ^ set(after[mart]))
        for mart in MARTS
        if before[mart] != after[mart]
    }


# -- hand-made fixtures -------------------------------------------------------------------------


def test_dbt_build_passes_on_fixtures_with_hand_computed_figures(
    pg_dsn: str, settings: Settings, tmp_path: Path
) -> None:
    assert load_raw(pg_dsn, fixture_messages("events_initial.jsonl"), settings) == 69

    output = dbt(["build"], pg_dsn, settings, tmp_path)
    assert "ERROR=0" in output and "PASS=" in output
    assert "unit_test" in output or "unit test" in output

    # acme-runners, Tuesday 2026-01-06. Posts p-r1 (member) and p-r2 (brand). p-r1 got 3
    # comments, likes by r2 (its retry is the same like) and r3, r4's love taken back (net 2),
    # r6's share; r7's reaction went with r7's erasure: 6. p-r2 got r5's like: 1. Engagement
    # rate 7 / (2 posts x 6 members at the start of the day). Active: r1..r6 and the brand
    # account (7). Brand voice: (1 brand post + 0 comments) / (2 + 3) = 0.2. First response to
    # p-r1: r2 at 10:30 (r1's own 10:15 comment does not count): 30 min.
    runners = fetch(
        pg_dsn,
        "select * from analytics.fct_community_daily "
        "where community_id = 'acme-runners' and activity_date = '2026-01-06'",
    )[0]
    assert runners["is_suppressed"] is False
    assert runners["active_members"] == 7
    assert (runners["posts"], runners["comments"], runners["engagements"]) == (2, 3, 7)
    # Nobody was active on Monday 01-05: the members at the start of Tuesday are Monday's
    # members minus its leavers, so Tuesday shows neither them nor the engagement rate (the
    # suppression of Monday holds); the day table has them.
    assert (runners["members_at_start"], runners["engagement_rate"]) == (None, None)
    tuesday = fetch(
        pg_dsn,
        "select members_at_start from intermediate.int_community_days_membership_counted "
        "where community_id = 'acme-runners' and activity_date = '2026-01-06'",
    )
    assert tuesday == [{"members_at_start": 6}]
    assert runners["brand_voice_share"] == Decimal("0.2000")
    assert runners["median_first_response_minutes"] == Decimal("30.00")
    # r5 left on Friday 01-09; only 1 member was active that day, so the day is suppressed.
    friday = fetch(
        pg_dsn,
        "select * from analytics.fct_community_daily "
        "where community_id = 'acme-runners' and activity_date = '2026-01-09'",
    )[0]
    assert friday["is_suppressed"] is True and friday["members_left"] is None

    # Brand acme, week of 2026-01-05: micro 7 / (2 x 6) = 0.583333; broad acme-main: p-m1 (b2's
    # comment, b3's like) and p-m2 (b4's share, b5's reaction): 4 / (2 x 12) = 0.166667.
    # Lift 3.5; share 7 / 11.
    lift = fetch(
        pg_dsn,
        "select * from analytics.fct_brand_engagement_lift "
        "where brand_id = 'acme' and week_start = '2026-01-05'",
    )[0]
    assert lift["micro_engagement_rate"] == Decimal("0.583333")
    assert lift["broad_engagement_rate"] == Decimal("0.166667")
    assert lift["lift"] == Decimal("3.5000")
    assert lift["small_group_engagement_share"] == Decimal("0.636364")
    assert lift["micro_engagement_rate_lower_95"] < lift["micro_engagement_rate"]
    assert lift["micro_engagement_rate"] < lift["micro_engagement_rate_upper_95"]

    # Topics, from the posts' tags in raw: acme-runners' week of 2026-01-05 has p-r1 (tags
    # ["sunday"], its 6 engagements) and p-r2 (no tags): 'sunday' is on 1 of its 2 posts. Brand
    # acme adds acme-main's two untagged posts of that week: 1 of 4. No week before: no mean.
    topics = fetch(
        pg_dsn,
        "select community_id, brand_id, week_start, tag, posts, engagements, share_of_posts, "
        "engagements_per_post, posts_previous_4_weeks_avg, is_rising "
        "from analytics.fct_community_topics_weekly",
    )
    assert topics == [
        {
            "community_id": "acme-runners",
            "brand_id": "acme",
            "week_start": date(2026, 1, 5),
            "tag": "sunday",
            "posts": 1,
            "engagements": 6,
            "share_of_posts": Decimal("0.5000"),
            "engagements_per_post": Decimal("6.0000"),
            "posts_previous_4_weeks_avg": None,
            "is_rising": False,
        }
    ]
    brand_topics = fetch(
        pg_dsn,
        "select brand_id, tag, communities, posts, share_of_posts "
        "from analytics.fct_brand_topics_weekly",
    )
    assert brand_topics == [
        {
            "brand_id": "acme",
            "tag": "sunday",
            "communities": 1,
            "posts": 1,
            "share_of_posts": Decimal("0.2500"),
        }
    ]

    # idea-1: i4 voted down, then up: 4 up, 0 down. The brand commented 6 h after submission
    # (i3's earlier comment is no brand answer) and accepted it 48 h after. 4 voters (and
    # idea-2's 2) are fewer than min_group_size 5: the mart shows no vote figure of either.
    ideas = {
        row["idea_id"]: row
        for row in fetch(pg_dsn, "select * from analytics.fct_feedback_ideas order by idea_id")
    }
    counted = {
        row["idea_id"]: (row["votes_up"], row["votes_down"])
        for row in fetch(
            pg_dsn,
            "select idea_id, votes_up, votes_down from intermediate.int_ideas_lifecycle_joined",
        )
    }
    assert counted == {"idea-1": (4, 0), "idea-2": (1, 1)}
    for idea in ("idea-1", "idea-2"):
        hidden = ("votes_up", "votes_down", "votes_net", "voters", "popularity_score")
        assert {ideas[idea][column] for column in hidden} == {None}, idea
    assert ideas["idea-1"]["hours_to_first_response"] == Decimal("6.00")
    assert ideas["idea-1"]["hours_to_decision"] == Decimal("48.00")
    assert ideas["idea-1"]["current_status"] == "accepted"
    assert ideas["idea-2"]["current_status"] == "declined"

    # solo-club never has 5 active members: nothing member-derived anywhere.
    solo = fetch(
        pg_dsn,
        "select bool_and(is_suppressed) as all_suppressed, count(posts) as shown "
        "from analytics.fct_community_daily where community_id = 'solo-club'",
    )[0]
    assert solo == {"all_suppressed": True, "shown": 0}
    dim = fetch(pg_dsn, "select * from analytics.dim_community where community_id = 'solo-club'")
    assert dim[0]["is_suppressed"] is True and dim[0]["members_current"] is None

    # r7 asked to be erased: raw keeps the key (ingest owns raw), no dbt relation does.
    r7 = Pseudonymizer(pseudonym_key_of(settings)).member_key("brand_app", "r7")
    in_raw = fetch(
        pg_dsn, "select count(*) as n from raw.community_events where member_key = %s", [r7]
    )
    assert in_raw == [{"n": 3}]
    assert relations_carrying(pg_dsn, r7) == []
    # ...and the check would see a key that is there.
    r1 = Pseudonymizer(pseudonym_key_of(settings)).member_key("brand_app", "r1")
    assert "intermediate.int_member_days_aggregated" in relations_carrying(pg_dsn, r1)

    # The build ran as pulse_transform: it owns what it made.
    owners = fetch(
        pg_dsn,
        "select distinct tableowner from pg_tables where schemaname = any(%s)",
        [list(DBT_SCHEMAS)],
    )
    assert owners == [{"tableowner": "pulse_transform"}]

    # dbt docs generate works, and every column of every mart is described.
    dbt(["docs", "generate"], pg_dsn, settings, tmp_path)
    manifest = json.loads((tmp_path / "dbt-target" / "manifest.json").read_text())
    catalog = json.loads((tmp_path / "dbt-target" / "catalog.json").read_text())
    marts = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == MARTS_SCHEMA
    }
    assert set(marts) == set(MARTS)
    for name, node in marts.items():
        assert node["description"].strip(), name
        built = catalog["nodes"][node["unique_id"]]["columns"]
        undocumented = [
            column
            for column in built
            if not node["columns"].get(column, {}).get("description", "").strip()
        ]
        assert undocumented == [], f"{name}: {undocumented}"


def test_dbt_incremental_run_equals_full_refresh_after_late_events(
    pg_dsn: str, settings: Settings, tmp_path: Path
) -> None:
    initial = fixture_messages("events_initial.jsonl")
    late = fixture_messages("events_late.jsonl")
    load_raw(pg_dsn, initial, settings)
    dbt(["run"], pg_dsn, settings, tmp_path)
    last_day = fetch(pg_dsn, "select max(activity_date) as d from analytics.fct_community_daily")
    assert last_day == [{"d": date(2026, 1, 9)}]

    # Late and new events: a comment of Tuesday 01-06 (inside the 3-day lookback from 01-09),
    # a reaction on 01-12 to a broad post of 01-02 (outside the lookback: the post's day must
    # be reopened), and the erasure of b5, a member of acme-main since 01-02.
    assert load_raw(pg_dsn, late, settings, first_offset=len(initial)) == len(late)
    dbt(["build"], pg_dsn, settings, tmp_path)
    incremental = snapshot(pg_dsn)

    def daily(community: str, day: str) -> dict[str, Any]:
        return fetch(
            pg_dsn,
            "select * from analytics.fct_community_daily "
            "where community_id = %s and activity_date = %s",
            [community, day],
        )[0]

    assert daily("acme-runners", "2026-01-06")["comments"] == 4
    assert daily("acme-main", "2026-01-02")["engagements"] == 1
    assert daily("acme-main", "2026-01-02")["members_total"] == 11  # b5 erased
    b5 = Pseudonymizer(pseudonym_key_of(settings)).member_key("brand_app", "b5")
    assert relations_carrying(pg_dsn, b5) == []

    # Replaying the topic (same event ids) stores nothing new and moves no figure.
    assert load_raw(pg_dsn, initial + late, settings) == 0
    dbt(["run"], pg_dsn, settings, tmp_path)
    assert differences(incremental, snapshot(pg_dsn)) == {}

    # A rebuild from scratch over the same events gives the very same marts.
    dbt(["run", "--full-refresh"], pg_dsn, settings, tmp_path)
    assert differences(incremental, snapshot(pg_dsn)) == {}


# -- generated data -----------------------------------------------------------------------------

MICRO_LIFT = 6.0


def _consume(settings: Settings, dsn: str, group: str) -> Any:
    config = IngestConfig(
        bootstrap=settings.kafka_bootstrap or "",
        pg_dsn=dsn,
        pseudonym_key=pseudonym_key_of(settings),
        topic=settings.events_topic,
        dlq_topic=settings.dlq_topic,
        group=group,
        stop_when_idle_s=3.0,
    )
    return IngestConsumer(config).run()


def test_dbt_lift_on_generated_events_lands_in_the_generators_band(
    pg_dsn: str, settings: Settings, tmp_path: Path
) -> None:
    """The generator makes micro members engage MICRO_LIFT x more per post than broad ones.

    Band: for every brand, the lift pooled over its weeks (sum of engagements / sum of member-
    post opportunities, micro over broad) lies in [MICRO_LIFT / 2, MICRO_LIFT x 2], the
    generator's own tolerance; so does the median of the weekly lifts.
    """
    # Four whole ISO weeks, the same whatever day the test runs.
    config = GeneratorConfig(
        seed=20_260_105,
        events=20_000,
        days=28,
        end=datetime(2026, 1, 26, tzinfo=UTC),
        micro_lift=MICRO_LIFT,
    )
    assert settings.kafka_bootstrap is not None
    produced = produce(
        generate(config), settings.kafka_bootstrap, settings.events_topic, show_progress=False
    )
    first = _consume(settings, pg_dsn, f"{settings.consumer_group}-first")
    assert first.inserted == produced.valid

    dbt(["build"], pg_dsn, settings, tmp_path)
    built = snapshot(pg_dsn)

    pooled = fetch(
        pg_dsn,
        """
        select
            brand_id,
            (sum(micro_engagements)::numeric / sum(micro_member_post_opportunities))
                / (sum(broad_engagements)::numeric / sum(broad_member_post_opportunities))
                as pooled_lift,
            percentile_cont(0.5) within group (order by lift) as median_weekly_lift,
            count(*) as weeks
        from analytics.fct_brand_engagement_lift
        where lift is not null
        group by brand_id
        order by brand_id
        """,
    )
    assert len(pooled) == 3, pooled  # GeneratorConfig.brands
    for brand in pooled:
        assert brand["weeks"] >= 3, brand
        assert MICRO_LIFT / 2 <= brand["pooled_lift"] <= MICRO_LIFT * 2, brand
        assert MICRO_LIFT / 2 <= brand["median_weekly_lift"] <= MICRO_LIFT * 2, brand

    # The generator erases a few members in its last days: none of them is left in any model.
    erased = fetch(
        pg_dsn,
        "select distinct member_key from raw.community_events where event_type = 'member.erased'",
    )
    assert erased
    for row in erased:
        assert relations_carrying(pg_dsn, row["member_key"]) == []

    # Replay the whole topic through a new consumer group: all duplicates, no figure moves.
    replay = _consume(settings, pg_dsn, f"{settings.consumer_group}-replay-{uuid.uuid4().hex[:6]}")
    assert replay.inserted == 0 and replay.duplicates > 0
    dbt(["run"], pg_dsn, settings, tmp_path)
    assert differences(built, snapshot(pg_dsn)) == {}
