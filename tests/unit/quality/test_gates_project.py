"""The committed Great Expectations project, the suites' contract with dbt, and the gate helpers.

No database here: these check what is committed and what the builder and runner compute.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from pulse.paths import EXPECTATIONS_DIR, REPO_ROOT
from pulse.publishing.promote import build_schema_name
from pulse.quality import (
    GateResult,
    GateSettings,
    Outcome,
    marts_suites,
    raw_suites,
    render_project,
    rules,
    stale_files,
    suites,
)
from pulse.quality.connection import sqlalchemy_url
from pulse.quality.gx import GX_DIR
from pulse.settings import Settings
from pulse.warehouse.names import MARTS

DBT_MARTS = REPO_ROOT / "dbt_project" / "models" / "marts"


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return render_project()


def test_committed_project_is_exactly_what_the_builder_writes() -> None:
    assert stale_files() == [], "run `python -m pulse.quality build` and commit expectations/"


def test_builder_output_is_the_same_twice(rendered: dict[str, str]) -> None:
    assert render_project() == rendered


def test_project_has_suites_validation_definitions_and_both_checkpoints(
    rendered: dict[str, str],
) -> None:
    names = {spec.name for spec in suites.all_suites()}
    assert {f"{GX_DIR}/expectations/{name}.json" for name in names} <= set(rendered)
    assert {f"{GX_DIR}/validation_definitions/{name}.json" for name in names} <= set(rendered)
    assert {
        f"{GX_DIR}/checkpoints/{raw_suites.RAW_CHECKPOINT}.json",
        f"{GX_DIR}/checkpoints/{marts_suites.MARTS_CHECKPOINT}.json",
        f"{GX_DIR}/great_expectations.yml",
    } <= set(rendered)


def test_committed_files_hold_no_connection_string_nor_machine_path(
    rendered: dict[str, str],
) -> None:
    config = rendered[f"{GX_DIR}/great_expectations.yml"]
    assert "connection_string: ${PULSE_GX_RAW_DSN}" in config
    assert "connection_string: ${PULSE_GX_MARTS_DSN}" in config
    assert "analytics_enabled: false" in config
    for name, text in rendered.items():
        assert not re.search(r"postgres(ql)?(\+\w+)?://", text), name
        assert not re.search(r"(/home/|/tmp/|/work/|/root/|/Users/)", text), name


def _dbt_contract_columns() -> dict[str, set[str]]:
    columns: dict[str, set[str]] = {}
    for path in DBT_MARTS.rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            columns[model["name"]] = {column["name"] for column in model.get("columns", [])}
    return columns


def _columns_named(spec: rules.SuiteSpec) -> set[str]:
    named: set[str] = set()
    for rule, expectation in zip(spec.rules, spec.expectations(), strict=True):
        named.update(rule.columns)
        kwargs = expectation.configuration.kwargs
        for key in ("column", "column_A", "column_B"):
            if kwargs.get(key):
                named.add(kwargs[key])
        named.update(kwargs.get("column_list") or [])
    return named


def test_marts_suites_cover_every_mart_and_name_only_contract_columns() -> None:
    """Each mart has its whole-table suite (keys) and its changed-rows suite (the rest), and
    every column either names is in the mart's dbt contract (the changed rows are its rows)."""
    contracts = _dbt_contract_columns()
    specs = marts_suites.marts_suites()
    assert sorted(spec.asset for spec in specs) == sorted(
        [*MARTS, *(marts_suites.changed_table(mart) for mart in MARTS)]
    )
    for spec in specs:
        mart = spec.asset.removesuffix(marts_suites.CHANGED_SUFFIX)
        assert mart in contracts, f"no dbt yml entry for {mart}"
        unknown = _columns_named(spec) - contracts[mart]
        assert not unknown, f"{spec.name} checks columns the dbt contract lacks: {unknown}"


def test_every_expectation_states_its_rule_in_words() -> None:
    for spec in suites.all_suites():
        for expectation in spec.expectations():
            assert expectation.notes and len(expectation.notes) > 10


def test_raw_suite_accepts_exactly_the_contract_event_types() -> None:
    from streaming.contracts import EVENT_TYPES

    [events, _] = raw_suites.raw_suites()
    [in_set] = [
        e
        for e in events.expectations()
        if e.configuration.kwargs.get("column") == "event_type"
        and "value_set" in e.configuration.kwargs
    ]
    assert set(in_set.configuration.kwargs["value_set"]) == set(EVENT_TYPES)


# -- helpers ------------------------------------------------------------------------------------


def test_build_schema_name_is_a_valid_unique_identifier_per_run() -> None:
    scheduled = build_schema_name("scheduled__2026-01-02T00:00:00+00:00")
    assert scheduled.startswith("build_scheduled_2026_01_02t00_00_00_00_00_")
    assert re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", scheduled)
    assert build_schema_name("scheduled__2026-01-02T00:00:00+00:00") == scheduled
    assert build_schema_name("scheduled__2026-01-03T00:00:00+00:00") != scheduled
    assert build_schema_name("Run-A") != build_schema_name("run_a")
    assert len(build_schema_name("x" * 300)) <= 63
    assert re.fullmatch(r"build_[0-9a-f]{6}", build_schema_name("!!!"))


def test_sqlalchemy_url_keeps_credentials_and_starts_sessions_with_the_settings() -> None:
    url = sqlalchemy_url(
        "postgresql://pulse_transform:s3cr%40t@db.example:6543/pulse?sslmode=require",
        {"search_path": "build_x", "pulse.note": "a b"},
    )
    assert url.startswith("postgresql+psycopg2://pulse_transform:s3cr%40t@db.example:6543/pulse?")
    assert "sslmode=require" in url
    assert "options=-c+search_path%3Dbuild_x+-c+pulse.note%3Da%5C+b" in url


def test_sqlalchemy_url_passes_a_socket_folder_as_a_query_parameter() -> None:
    url = sqlalchemy_url("host=/run/postgresql dbname=pulse user=me", {"search_path": "b"})
    assert url.startswith("postgresql+psycopg2://me@/pulse?")
    assert "host=%2Frun%2Fpostgresql" in url


def test_gate_settings_follow_settings_fields() -> None:
    defaults = GateSettings.from_settings(Settings(min_group_size=7, future_tolerance_s=60))
    assert (defaults.min_group_size, defaults.future_tolerance_s) == (7, 60)
    assert defaults.volume_band_low == 0.1 and defaults.project_dir == EXPECTATIONS_DIR
    tuned = GateSettings.from_settings(
        Settings(gate_volume_band_low=0.25, gx_project_dir="elsewhere", keep_builds=3)
    )
    assert tuned.volume_band_low == 0.25 and tuned.keep_builds == 3
    assert tuned.project_dir == Path("elsewhere")
    with pytest.raises(ValueError, match="band"):
        replace(defaults, volume_band_low=2.0, volume_band_high=1.0)


def _outcome(number: int) -> Outcome:
    return Outcome(
        suite="raw_events",
        data_asset=raw_suites.RAW_EVENTS_ASSET,
        expectation="expect_column_values_to_be_unique",
        column="event_id",
        rule=f"rule {number}",
        kwargs={"column": "event_id"},
        success=False,
        observed_value={
            "element_count": 1000,
            "unexpected_count": 2,
            "unexpected_percent": 0.2,
            "partial_unexpected_list": ["0000-a", "0000-a"],
        },
        unexpected_count=2,
        element_count=1000,
        exception_message=None,
    )


def test_summary_fits_one_screen_and_says_where_the_details_are() -> None:
    result = GateResult(
        validation_run_id=uuid.uuid4(),
        run_id="manual__x",
        layer="raw",
        checkpoint=raw_suites.RAW_CHECKPOINT,
        success=False,
        outcomes=[_outcome(n) for n in range(30)],
        started_at=datetime(2026, 1, 3, tzinfo=UTC),
        finished_at=datetime(2026, 1, 3, 0, 0, 2, tzinfo=UTC),
        data_docs_index=Path("docs/index.html"),
        interval_start=datetime(2026, 1, 2, tzinfo=UTC),
        interval_end=datetime(2026, 1, 3, tzinfo=UTC),
        notes=["volume band not checked: no history"],
    )
    lines = result.summary_lines()
    assert len(lines) <= 20
    assert lines[0] == (
        "raw gate FAILED: 30 of 30 expectations failed "
        "(interval 2026-01-02 00:00 UTC to 2026-01-03 00:00 UTC, run manual__x)"
    )
    assert "2 of 1,000 rows unexpected, e.g. 0000-a, 0000-a" in lines[1]
    assert "  ... and 18 more" in lines
    assert any(str(result.validation_run_id) in line for line in lines)
    assert any("docs/index.html" in line for line in lines)
