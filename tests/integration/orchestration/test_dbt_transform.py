"""pulse.orchestration.dbt: how dbt is pointed at the warehouse, how its failures reach the user."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulse.errors import PulseError
from pulse.orchestration.dbt import dbt_env, run_dbt
from pulse.settings import Settings


def test_dbt_env_takes_connection_and_group_size_from_dsn_and_settings() -> None:
    env = dbt_env(
        "postgresql://analyst:s3cret@db.internal:6543/warehouse?sslmode=require",
        Settings(min_group_size=7),
    )
    expected = {
        "PULSE_PG_HOST": "db.internal",
        "PULSE_PG_PORT": "6543",
        "PULSE_PG_USER": "analyst",
        "PULSE_PG_PASSWORD": "s3cret",
        "PULSE_PG_DATABASE": "warehouse",
        "PULSE_PG_SSLMODE": "require",
        "PULSE_MIN_GROUP_SIZE": "7",
        "DO_NOT_TRACK": "1",
    }
    assert {key: env.get(key) for key in expected} == expected
    # Everything else is the alert, incident and rising topic rules' settings, which dbt's vars
    # read.
    others = set(env) - set(expected)
    assert others and all(
        k.startswith(("PULSE_ALERT_", "PULSE_INCIDENT_", "PULSE_TOPIC_RISING_")) for k in others
    )


def test_dbt_env_passes_the_rising_topic_rule_from_settings() -> None:
    env = dbt_env(
        "host=127.0.0.1 user=postgres",
        Settings(topic_rising_min_posts=8, topic_rising_min_change=1.25),
    )
    assert env["PULSE_TOPIC_RISING_MIN_POSTS"] == "8"
    assert env["PULSE_TOPIC_RISING_MIN_CHANGE"] == "1.25"


def test_dbt_env_fills_libpq_defaults_for_a_short_dsn() -> None:
    env = dbt_env("host=127.0.0.1 user=postgres", Settings())
    assert env["PULSE_PG_PORT"] == "5432"
    assert env["PULSE_PG_DATABASE"] == "postgres"
    assert env["PULSE_PG_PASSWORD"] == ""
    assert env["PULSE_MIN_GROUP_SIZE"] == "5"
    assert "PULSE_PG_SSLMODE" not in env


@pytest.mark.integration
def test_run_dbt_failure_is_one_line_pulse_error(tmp_path: Path) -> None:
    # Nothing listens on port 1: dbt fails to connect, and says so in one line.
    with pytest.raises(PulseError) as failure:
        run_dbt(
            ["debug", "--connection"],
            "postgresql://postgres@127.0.0.1:1/nowhere",
            Settings(),
            target_path=tmp_path / "dbt-target",
        )
    message = str(failure.value)
    assert message.startswith("dbt debug failed: Database Error: ")
    assert "\n" not in message
