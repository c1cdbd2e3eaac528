"""Quality gates and blue/green publishing, end to end on a real warehouse and the real dbt build.

One database per module is prepared once and used as a TEMPLATE: the hand-made events of
tests/fixtures/dbt in raw, dbt built into `build_baseline`, the marts gate passed and `marts`
promoted onto it. Every test clones it (CREATE DATABASE ... TEMPLATE, a fraction of a second),
plants one defect and checks that the right expectation fails, that nothing is promoted, and that
what BI sees through `marts` is the same, row for row, before and after.

How each defect is planted, honestly:
- duplicate event_id: raw.community_events has a primary key, so the test drops it in its own
  database and copies a stored row; the raw gate must then fail on uniqueness (the gate checks
  the data, whatever constraints happen to exist);
- future timestamp: a row dated tomorrow, written past the consumer (which would reject it);
- volume drop: seven busy days, then a day with almost nothing;
- rate above 1 and DAU > MAU: written into a copy of the baseline build, after "dbt" and before
  the marts gate, where a faulty model would put them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from pulse import orchestration
from pulse.local.stack import StackInfo
from pulse.orchestration import RunContext
from pulse.orchestration.dbt import run_dbt
from pulse.publishing.promote import (
    PromoteRefused,
    build_schema_name,
    live_build,
    promote,
    retire_builds,
)
from pulse.quality import GateFailed, GateSettings, copy_project, run_marts_gate, stale_files
from pulse.settings import Settings
from pulse.warehouse.brand_access import (
    BrandAccessRefused,
    brand_grants,
    grant_brand,
    revoke_brand,
)
from pulse.warehouse.init import init_warehouse
from pulse.warehouse.names import MARTS
from streaming.decode import EVENT_COLUMNS, Decoder, EventRow
from streaming.privacy import Pseudonymizer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dbt"
KEY = "test-pseudonym-key-not-secret"
BASELINE = "build_baseline"
# The hand-made events span 2026-01-02 .. 2026-01-12 (the late ones included).
INTERVAL = (datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 13, tzinfo=UTC))


# -- helpers ------------------------------------------------------------------------------------


def _dsn(info: StackInfo, database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{info.pg_port}/{database}"


def load_fixture(dsn: str, name: str) -> int:
    """Store a fixture's events in raw as the consumer does (decode, then COPY)."""
    decoder = Decoder(Pseudonymizer(KEY), timedelta(minutes=5))
    lines = [line for line in (FIXTURES / name).read_bytes().splitlines() if line.strip()]
    rows = []
    for offset, value in enumerate(lines):
        row = decoder.decode("test.events", 0, offset, None, value)
        assert isinstance(row, EventRow), row
        rows.append(row.copy_row("test.events"))
    columns = sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
    copy = sql.SQL("copy raw.community_events ({}) from stdin").format(columns)
    with psycopg.connect(dsn) as conn, conn.cursor().copy(copy) as writer:
        for row in rows:
            writer.write_row(row)
    return len(rows)


def insert_synthetic(
    conn: psycopg.Connection, day: datetime, events: int, community: str = "acme-runners"
) -> None:
    """`events` valid-looking reactions spread over one day (for volume history)."""
    conn.execute(
        "insert into raw.community_events (event_id, event_type, schema_version, occurred_at, "
        "community_id, member_key, platform, payload, source_topic, source_partition, "
        "source_offset) "
        "select gen_random_uuid(), 'reaction.added', 1, "
        "%(day)s + (i * interval '1 day' / %(n)s), %(community)s, "
        "encode(sha256(('member' || (i %% 40))::bytea), 'hex'), 'brand_app', "
        """'{"target_type": "post", "target_id": "p1", "reaction": "like"}', """
        "'test.synthetic', 0, i from generate_series(0, %(n)s - 1) as i",
        {"day": day, "n": events, "community": community},
    )


def bi_view(dsn: str) -> dict[str, Any]:
    """Everything pulse_bi can see in marts: view definitions and every row (as a dict), sorted."""
    seen: dict[str, Any] = {}
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        conn.execute("set role pulse_bi")
        for mart in MARTS:
            rows = conn.execute(
                sql.SQL("select * from {}").format(sql.Identifier("marts", mart))
            ).fetchall()
            seen[mart] = sorted(rows, key=lambda row: [str(value) for value in row.values()])
        conn.execute("reset role")
        seen["definitions"] = [
            (row["viewname"], row["definition"])
            for row in conn.execute(
                "select viewname, definition from pg_views where schemaname = 'marts' order by 1"
            )
        ]
    return seen


def build_schemas(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {
            row[0]
            for row in conn.execute(
                "select nspname from pg_namespace where nspname like 'build\\_%'"
            )
        }


def copy_build(dsn: str, source: str, target: str) -> None:
    """A new build with the same tables as `source`, made as pulse_transform (like dbt)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("set role pulse_transform")
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(target)))
        for mart in MARTS:
            conn.execute(
                sql.SQL("create table {} as table {}").format(
                    sql.Identifier(target, mart), sql.Identifier(source, mart)
                )
            )


def failed_rules(result: Any) -> set[tuple[str, str, str | None]]:
    return {(o.suite, o.expectation, o.column) for o in result.failed}


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One artifacts folder for the module's dbt builds: the second one parses less.
    return tmp_path_factory.mktemp("dbt-target")


@pytest.fixture(scope="module")
def gx_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the committed project, so runs never write under the repository."""
    return copy_project(tmp_path_factory.mktemp("gx-project"))


@pytest.fixture(scope="module")
def template_db(stack_info: StackInfo, gx_project: Path, dbt_target: Path) -> Iterator[str]:
    """A database with the baseline build validated and promoted: the state before each test."""
    name = f"tmpl_{uuid.uuid4().hex[:10]}"
    admin = _dsn(stack_info, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = _dsn(stack_info, name)
    init_warehouse(dsn)
    load_fixture(dsn, "events_initial.jsonl")
    settings = Settings(pg_dsn=dsn, pseudonym_key=KEY)
    run_dbt(
        ["build", "--vars", f'{{"marts_schema": "{BASELINE}"}}'],
        dsn,
        settings,
        target_path=dbt_target,
    )
    gate = run_marts_gate(
        dsn,
        run_id="baseline",
        build_schema=BASELINE,
        gate_settings=GateSettings.from_settings(Settings(gx_project_dir=gx_project)),
    )
    assert gate.success, "\n".join(gate.summary_lines())
    promote(dsn, run_id="baseline", build_schema=BASELINE)
    yield name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def warehouse(stack_info: StackInfo, template_db: str) -> Iterator[str]:
    """A fresh clone of the template database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = _dsn(stack_info, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        # Cloning needs the template to be idle.
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
            [template_db],
        )
        conn.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    dsn = _dsn(stack_info, name)
    init_warehouse(dsn)  # database-level grants are not part of what a template copies
    yield dsn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def gates(gx_project: Path) -> GateSettings:
    return GateSettings.from_settings(Settings(gx_project_dir=gx_project))


def gated_run(
    dsn: str,
    gx_project: Path,
    *,
    run_id: str,
    interval: tuple[datetime, datetime],
    owner_dsn: str | None = None,
) -> tuple[RunContext, str, dict[str, object]]:
    """The pipeline's own steps, in the DAG's order: raw gate, dbt build, marts gate, promote.

    Returns the run, its build schema and what promote did; a failed gate raises GateFailed.
    """
    settings = Settings(
        pg_dsn=dsn, owner_pg_dsn=owner_dsn, pseudonym_key=KEY, gx_project_dir=gx_project
    )
    run = orchestration.start_run(
        settings,
        dag_id=orchestration.DAG_ID,
        run_id=run_id,
        interval_start=interval[0],
        interval_end=interval[1],
    )
    orchestration.raw_gate(settings, run)
    build = orchestration.dbt_build(settings, run)["build_schema"]
    orchestration.marts_gate(settings, run, build)
    promotion = orchestration.promote_build(settings, run, build)
    return run, build, promotion


# -- a clean run --------------------------------------------------------------------------------


def test_clean_run_promotes_and_bi_sees_the_new_figures_but_not_raw(
    warehouse: str, gates: GateSettings
) -> None:
    before = bi_view(warehouse)
    load_fixture(warehouse, "events_late.jsonl")  # new days and one late event for an old day

    run, build, promotion = gated_run(
        warehouse,
        gates.project_dir,
        run_id="scheduled__2026-01-13T00:00:00+00:00",
        interval=INTERVAL,
    )

    (recorded,) = rows_of(
        warehouse,
        "select raw_gate_success, marts_gate_success, promoted from quality.pipeline_runs "
        "where pipeline_run_id = %s",
        [run.pipeline_run_id],
    )
    assert recorded == (True, True, True)
    assert promotion["previous_build_schema"] == BASELINE
    assert live_build(warehouse) == build == run.build_schema
    after = bi_view(warehouse)
    days_before = {row["activity_date"] for row in before["fct_community_daily"]}
    days_after = {row["activity_date"] for row in after["fct_community_daily"]}
    assert max(days_after) > max(days_before)  # the late file's 2026-01-12 is visible now
    assert after["fct_community_daily"] != before["fct_community_daily"]
    assert all(build in definition for _, definition in after["definitions"])

    with psycopg.connect(warehouse) as conn:
        conn.execute("set role pulse_bi")
        for forbidden in (
            "raw.community_events",
            f"{build}.fct_community_daily",
            "quality.validation_results",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"select 1 from {forbidden} limit 1")
    # The previous build stays for a rollback (keep 2).
    assert {BASELINE, build} <= build_schemas(warehouse)


def login_as(dsn: str, user: str) -> str:
    """The same warehouse, logged in as `user` (the embedded server trusts local logins)."""
    return make_conninfo("", **{**conninfo_to_dict(dsn), "user": user})


def test_a_run_whose_steps_log_in_as_their_own_roles_promotes_and_transform_alone_cannot(
    warehouse: str, gates: GateSettings
) -> None:
    """As docker-compose runs it: events written by the pulse_ingest login, the run's steps by
    the pulse_transform login, promote and erasure by the pulse_owner login. No superuser."""
    ingest, transform, owner = (
        login_as(warehouse, role) for role in ("pulse_ingest", "pulse_transform", "pulse_owner")
    )
    load_fixture(ingest, "events_late.jsonl")

    run, build, promotion = gated_run(
        transform,
        gates.project_dir,
        run_id="scheduled__2026-01-13T00:00:00+00:00",
        interval=INTERVAL,
        owner_dsn=owner,
    )

    assert promotion["previous_build_schema"] == BASELINE
    assert live_build(warehouse) == build
    (recorded,) = rows_of(
        warehouse,
        "select promoted, status from quality.pipeline_runs where pipeline_run_id = %s",
        [run.pipeline_run_id],
    )
    assert recorded[0] is True
    # The transform login builds, but cannot change what BI sees.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        promote(transform, run_id="transform-alone", build_schema=BASELINE)
    assert live_build(warehouse) == build


# -- each brand sees only its own ---------------------------------------------------------------


def rows_seen(dsn: str, role: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every mart as `role` sees it through marts, with its brand_id, sorted."""
    seen: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        for mart in MARTS:
            cursor = conn.execute(sql.SQL("select * from {}").format(sql.Identifier("marts", mart)))
            names = [column.name for column in cursor.description or ()]
            rows = cursor.fetchall()
            brand_at = names.index("brand_id")
            seen[mart] = sorted(
                ((row[brand_at], *row) for row in rows), key=lambda r: [str(v) for v in r]
            )
    return seen


@pytest.fixture
def brand_role(warehouse: str) -> Iterator[str]:
    """A role name of this test's own: roles belong to the whole server, not to a database."""
    role = f"brand_{uuid.uuid4().hex[:10]}"
    yield role
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def test_a_brand_role_reads_only_its_brand_in_every_mart_and_nothing_else(
    warehouse: str, brand_role: str
) -> None:
    everything = rows_seen(warehouse, "pulse_bi")
    brands = {row[0] for rows in everything.values() for row in rows}
    assert {"acme", "solo"} <= brands, "the fixture has two brands, so a leak would show"

    assert grant_brand(warehouse, brand_id="acme", role=brand_role, login_password="pw")
    assert not grant_brand(warehouse, brand_id="acme", role=brand_role)  # idempotent
    acme = rows_seen(warehouse, brand_role)
    for mart in MARTS:
        assert acme[mart] == [row for row in everything[mart] if row[0] == "acme"], mart
    assert all(acme[mart] for mart in ("dim_community", "fct_community_daily"))

    analyst = login_as(warehouse, brand_role)
    with psycopg.connect(analyst) as conn:
        for forbidden in (
            "raw.community_events",
            "quality.brand_access",
            "quality.pipeline_runs",
            f"{BASELINE}.fct_community_daily",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"select 1 from {forbidden} limit 1")

    # A promote recreates the views: the grant still holds, and still only for acme.
    promote(warehouse, run_id="again", build_schema=BASELINE)
    assert rows_seen(warehouse, brand_role) == acme

    # An agency's role with two brands sees both; revoked, a role sees nothing at all.
    grant_brand(warehouse, brand_id="solo", role=brand_role)
    both = rows_seen(warehouse, brand_role)
    assert both == {mart: [r for r in everything[mart] if r[0] is not None] for mart in MARTS}
    assert revoke_brand(warehouse, brand_id="solo", role=brand_role)
    assert revoke_brand(warehouse, brand_id="acme", role=brand_role)
    assert [g.role_name for g in brand_grants(warehouse)] == []
    # (the database's CONNECT comes with pulse_brand_bi too: a role with no brand left is out)
    with pytest.raises(psycopg.OperationalError, match="CONNECT privilege"):
        psycopg.connect(analyst).close()


def test_bi_grant_refuses_roles_that_would_see_every_brand(warehouse: str, brand_role: str) -> None:
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create role {} login in role pulse_bi").format(sql.Identifier(brand_role))
        )
    for role in ("pulse_bi", "pulse_owner", "postgres", brand_role):
        with pytest.raises(BrandAccessRefused):
            grant_brand(warehouse, brand_id="acme", role=role)
    with pytest.raises(BrandAccessRefused, match="does not exist"):
        grant_brand(warehouse, brand_id="acme", role=f"{brand_role}_nobody")
    assert brand_grants(warehouse) == []


# -- planted defects ----------------------------------------------------------------------------


def _plant_duplicate_event_id(conn: psycopg.Connection) -> tuple[datetime, datetime]:
    conn.execute("alter table raw.community_events drop constraint community_events_pkey")
    conn.execute(
        "insert into raw.community_events select * from raw.community_events "
        "where event_type = 'post.created' order by occurred_at limit 1"
    )
    return INTERVAL


def _plant_future_timestamp(conn: psycopg.Connection) -> tuple[datetime, datetime]:
    conn.execute(
        "insert into raw.community_events (event_id, event_type, schema_version, occurred_at, "
        "community_id, member_key, platform, payload, source_topic, source_partition, "
        "source_offset) select gen_random_uuid(), event_type, 1, now() + interval '1 day', "
        "community_id, member_key, platform, payload, source_topic, 0, 999999 "
        "from raw.community_events where event_type = 'post.created' limit 1"
    )
    return INTERVAL


def _plant_volume_drop(conn: psycopg.Connection) -> tuple[datetime, datetime]:
    quiet_day = datetime(2026, 1, 20, tzinfo=UTC)
    for back in range(1, 8):
        insert_synthetic(conn, quiet_day - timedelta(days=back), events=200)
    insert_synthetic(conn, quiet_day, events=3)
    return quiet_day, quiet_day + timedelta(days=1)


RAW_DEFECTS = {
    "duplicate_event_id": (
        _plant_duplicate_event_id,
        {("raw_events", "expect_column_values_to_be_unique", "event_id")},
    ),
    "future_timestamp": (
        _plant_future_timestamp,
        {("raw_events", "expect_column_values_to_be_between", "occurred_at")},
    ),
    "volume_drop": (
        _plant_volume_drop,
        {("raw_volume", "expect_column_values_to_be_between", "volume_ratio")},
    ),
}


@pytest.mark.parametrize("defect", sorted(RAW_DEFECTS))
def test_raw_defect_fails_its_expectation_and_blocks_the_run(
    warehouse: str, gates: GateSettings, defect: str
) -> None:
    plant, expected = RAW_DEFECTS[defect]
    before = bi_view(warehouse)
    with psycopg.connect(warehouse) as conn:
        interval = plant(conn)
    run_id = f"manual__{defect}"

    with pytest.raises(GateFailed) as failed:
        gated_run(warehouse, gates.project_dir, run_id=run_id, interval=interval)

    result = failed.value.result
    assert result.layer == "raw"
    assert failed_rules(result) == expected
    # Stopped before dbt: no build for this run, BI sees exactly what it saw.
    assert build_schema_name(run_id) not in build_schemas(warehouse)
    assert live_build(warehouse) == BASELINE
    assert bi_view(warehouse) == before


def _plant_rate_above_one(conn: psycopg.Connection, build: str) -> None:
    updated = conn.execute(
        sql.SQL(
            "update {} set stickiness = 1.5 where ctid = (select ctid from {} "
            "where not is_suppressed limit 1)"
        ).format(
            sql.Identifier(build, "fct_community_daily"),
            sql.Identifier(build, "fct_community_daily"),
        )
    ).rowcount
    assert updated == 1


def _plant_dau_above_mau(conn: psycopg.Connection, build: str) -> None:
    updated = conn.execute(
        sql.SQL(
            "update {} set active_members = greatest(mau, members_total) + 3 "
            "where ctid = (select ctid from {} "
            "where not is_suppressed limit 1)"
        ).format(
            sql.Identifier(build, "fct_community_daily"),
            sql.Identifier(build, "fct_community_daily"),
        )
    ).rowcount
    assert updated == 1


MARTS_DEFECTS = {
    "rate_above_one": (
        _plant_rate_above_one,
        {("marts_fct_community_daily", "expect_column_values_to_be_between", "stickiness")},
    ),
    # DAU above MAU (and above the day's members) is also DAU above WAU (WAU <= MAU held): the
    # three rules name it.
    "dau_above_mau": (
        _plant_dau_above_mau,
        {
            (
                "marts_fct_community_daily",
                "expect_column_pair_values_a_to_be_greater_than_b",
                "members_total,active_members",
            ),
            (
                "marts_fct_community_daily",
                "expect_column_pair_values_a_to_be_greater_than_b",
                "mau,active_members",
            ),
            (
                "marts_fct_community_daily",
                "expect_column_pair_values_a_to_be_greater_than_b",
                "wau,active_members",
            ),
        },
    ),
}


@pytest.mark.parametrize("defect", sorted(MARTS_DEFECTS))
def test_marts_defect_fails_its_expectation_and_promote_refuses(
    warehouse: str, gates: GateSettings, defect: str
) -> None:
    plant, expected = MARTS_DEFECTS[defect]
    before = bi_view(warehouse)
    build = "build_next"
    copy_build(warehouse, BASELINE, build)
    with psycopg.connect(warehouse) as conn:
        conn.execute("set role pulse_transform")
        plant(conn, build)

    result = run_marts_gate(
        warehouse, run_id=f"manual__{defect}", build_schema=build, gate_settings=gates
    )
    assert not result.success
    assert failed_rules(result) == expected

    with pytest.raises(PromoteRefused, match="failed"):
        promote(warehouse, run_id=f"manual__{defect}", build_schema=build)
    assert live_build(warehouse) == BASELINE
    assert bi_view(warehouse) == before


def test_promote_refuses_a_build_that_never_went_through_the_gate(warehouse: str) -> None:
    before = bi_view(warehouse)
    copy_build(warehouse, BASELINE, "build_unchecked")
    with pytest.raises(PromoteRefused, match="not been through the marts gate"):
        promote(warehouse, run_id="manual__unchecked", build_schema="build_unchecked")
    assert bi_view(warehouse) == before


# -- results and Data Docs ----------------------------------------------------------------------


def test_results_are_queryable_and_data_docs_pages_exist(
    warehouse: str, gates: GateSettings
) -> None:
    copy_build(warehouse, BASELINE, "build_docs")
    with psycopg.connect(warehouse) as conn:
        conn.execute("set role pulse_transform")
        _plant_rate_above_one(conn, "build_docs")

    result = run_marts_gate(
        warehouse, run_id="manual__docs", build_schema="build_docs", gate_settings=gates
    )

    with psycopg.connect(warehouse) as conn:
        run = conn.execute(
            "select success, evaluated_expectations, successful_expectations, data_docs_page "
            "from quality.validation_runs where validation_run_id = %s",
            [result.validation_run_id],
        ).fetchone()
        rows = conn.execute(
            "select suite, expectation, column_name, rule, success, observed_value "
            "from quality.validation_results where run_id = 'manual__docs' and not success"
        ).fetchall()
        total = conn.execute(
            "select count(*) from quality.validation_results where validation_run_id = %s",
            [result.validation_run_id],
        ).fetchone()
    assert run is not None
    success, evaluated, successful, page = run
    assert not success and evaluated == total[0] == len(result.outcomes) > 50
    assert successful == evaluated - 1
    [(suite, expectation, column, rule, _, observed)] = rows
    assert (suite, expectation, column) == (
        "marts_fct_community_daily",
        "expect_column_values_to_be_between",
        "stickiness",
    )
    assert "share" in rule and observed["unexpected_count"] == 1
    assert observed["partial_unexpected_list"] == [1.5]
    # Stored relative to the project folder (portable); the result carries the full path.
    assert page is not None and (gates.project_dir / page) == result.data_docs_page
    assert result.data_docs_page.is_file() and result.data_docs_index.is_file()
    assert "stickiness" in result.data_docs_page.read_text()
    summary = "\n".join(result.summary_lines())
    assert "stickiness is a share" in summary and str(result.validation_run_id) in summary
    # Running gates writes under gx/uncommitted/ only: the committed project is untouched.
    assert stale_files(gates.project_dir) == []


# -- housekeeping -------------------------------------------------------------------------------


def _record_passing_gate(dsn: str, build: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into quality.validation_runs (validation_run_id, run_id, layer, "
            "checkpoint_name, build_schema, success, evaluated_expectations, "
            "successful_expectations, started_at, finished_at, great_expectations_version) "
            "values (gen_random_uuid(), %s, 'marts', 'marts_gate', %s, true, 1, 1, now(), "
            "now(), 'test')",
            [f"run_{build}", build],
        )


def test_old_builds_beyond_the_last_two_are_dropped_after_a_promote(warehouse: str) -> None:
    copy_build(warehouse, BASELINE, "build_in_flight")  # no gate yet: must survive
    for build in ("build_second", "build_third"):
        copy_build(warehouse, BASELINE, build)
        _record_passing_gate(warehouse, build)
        promotion = promote(warehouse, run_id=f"run_{build}", build_schema=build)

    assert promotion.retired_builds == [BASELINE]
    assert build_schemas(warehouse) == {"build_second", "build_third", "build_in_flight"}
    assert retire_builds(warehouse) == []
    assert bi_view(warehouse)["fct_community_daily"]  # marts reads build_third


def rows_of(dsn: str, query: str, params: list[object]) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()
