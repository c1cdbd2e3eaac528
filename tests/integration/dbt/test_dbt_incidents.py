"""The incident rule (fct_alert_incidents) against incidents planted with known windows.

Generated events with planted incidents (GeneratorConfig.plant_incidents: per brand a sentiment
crisis, an engagement collapse and a brand overposting spell in micro communities, late-answered
ideas, the busiest broad community's negative end; in one micro community a spell of core
members going quiet for two weeks from a Monday; and a tiny control community with a few
negative posts) are stored as the consumer stores them and built by dbt. Then:

- recall: every planted incident opened an incident of its community and type within one day
  of its start (100% required); the quiet spell's start is the Monday its members stop, the
  start of the first ISO week they are silent all through, which is when the weekly incident
  opens;
- precision: at least 90% of the incidents opened overlap a planted one of their community and
  type (the day rules' own precision, without the idea incidents, is printed too);
- the tiny community opens nothing, and every brand's large community's crisis opens one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from support.warehouse import load_raw

from pulse.local.generator import GeneratorConfig, PlantedIncident, generate, planted_incidents
from pulse.orchestration.dbt import run_dbt
from pulse.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONFIG = GeneratorConfig(
    seed=5, events=60_000, days=35, end=datetime(2026, 3, 1, tzinfo=UTC), plant_incidents=True
)
SLACK = timedelta(days=1)


def incidents(dsn: str) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        query = "select * from analytics.fct_alert_incidents order by opened_at"
        return conn.execute(query).fetchall()


def overlaps(incident: dict[str, Any], planted: PlantedIncident) -> bool:
    """Same community and type, and the incident's time overlaps the planted window."""
    end = incident["resolved_at"] or incident["last_seen_at"]
    return (
        incident["community_id"] == planted.community_id
        and incident["alert_type"] == planted.alert_type
        and incident["opened_at"] < planted.end + SLACK
        and end > planted.start - SLACK
    )


def opened_in_time(incident: dict[str, Any], planted: PlantedIncident) -> bool:
    return (
        incident["community_id"] == planted.community_id
        and incident["alert_type"] == planted.alert_type
        and abs(incident["opened_at"] - planted.start) <= SLACK
    )


def scores(
    found: list[dict[str, Any]], planted: Iterable[PlantedIncident]
) -> tuple[list[PlantedIncident], list[dict[str, Any]]]:
    """(planted incidents missed, incidents opened that overlap nothing planted)."""
    expected = [p for p in planted if p.expect_incident]
    missed = [p for p in expected if not any(opened_in_time(i, p) for i in found)]
    unplanted = [i for i in found if not any(overlaps(i, p) for p in expected)]
    return missed, unplanted


def test_planted_incidents_are_found_and_little_else_is(
    pg_dsn: str, settings: Settings, tmp_path: Path
) -> None:
    values = [m.value for m in generate(CONFIG) if m.kind == "valid" and m.value]
    assert load_raw(pg_dsn, values, settings) == len(values)
    threads = {"PULSE_DBT_THREADS": "4"}
    run_dbt(["run"], pg_dsn, settings, target_path=tmp_path / "dbt", extra_env=threads)
    found = incidents(pg_dsn)
    planted = planted_incidents(CONFIG)
    expected = [p for p in planted if p.expect_incident]
    missed, unplanted = scores(found, planted)
    day_rules = [i for i in found if i["alert_type"] != "idea_unanswered"]
    day_unplanted = [i for i in unplanted if i["alert_type"] != "idea_unanswered"]
    recall = 1 - len(missed) / len(expected)
    precision = 1 - len(unplanted) / len(found)
    day_precision = 1 - len(day_unplanted) / len(day_rules)
    print(
        f"\nplanted {len(expected)} ({sum(p.alert_type != 'idea_unanswered' for p in expected)} "
        f"day rules), incidents {len(found)} ({len(day_rules)} day rules); recall {recall:.0%}, "
        f"precision {precision:.0%}, day-rule precision {day_precision:.0%}"
    )
    for incident in unplanted:
        print(" unplanted:", {k: incident[k] for k in ("community_id", "alert_type", "opened_at")})
    assert missed == [], json.dumps([p.__dict__ for p in missed], default=str)
    assert precision >= 0.9, unplanted

    # The tiny community's few negative posts open nothing; each large community's crisis does.
    (control,) = [p for p in planted if not p.expect_incident]
    assert [i for i in found if i["community_id"] == control.community_id] == []
    large = [p for p in expected if p.what == "large community turns negative"]
    assert len(large) == 3
    assert all(any(opened_in_time(i, p) for i in found) for p in large)

    # Every planted kind was there to be found, and the lifecycle columns agree.
    assert {p.alert_type for p in expected} == {
        "negative_sentiment_spike",
        "engagement_drop",
        "brand_voice_too_high",
        "idea_unanswered",
        "core_members_quiet",
    }
    # The week rule opens on the Monday of the first week the quiet members were silent through.
    (quiet,) = [p for p in expected if p.alert_type == "core_members_quiet"]
    assert quiet.start.weekday() == 0
    assert [i["opened_at"] for i in found if opened_in_time(i, quiet)] == [quiet.start]
    for incident in found:
        assert (incident["status"] == "open") == (incident["resolved_at"] is None)
        assert incident["opened_at"] < incident["last_seen_at"]
