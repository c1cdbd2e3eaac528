"""Incident messages (pulse.publishing.incidents): the lifecycle a mart row implies, ids that
do not depend on the run, withdrawals, and messages valid against the committed JSON Schema.

The rule itself is the dbt mart fct_alert_incidents (tests/integration/dbt/test_dbt_incidents.py);
here the mart's rows are given.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, get_args

import jsonschema
import pytest

from pulse.publishing.incidents import (
    INCIDENT_COLUMNS,
    Interval,
    incident_messages,
    message_id,
    withdrawn_messages,
)
from streaming.incidents import INCIDENT_TYPES, IncidentEvent, IncidentType
from streaming.schemas import SCHEMA_DIR

OPENED = datetime(2026, 3, 2, tzinfo=UTC)
RUN = Interval("scheduled__2026-03-20", datetime(2026, 3, 19, tzinfo=UTC), OPENED + timedelta(18))
RERUN = Interval("manual__again", RUN.start, RUN.end)


def documented_message_id(incident_id: uuid.UUID, event: str) -> uuid.UUID:
    """The scheme of docs/contracts.md, written out (not pulse.publishing.incidents')."""
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "https://community-pulse/incidents/v1")
    return uuid.uuid5(namespace, f"{incident_id}\x1f{event}")


def row(**overrides: Any) -> dict[str, Any]:
    """A fct_alert_incidents row: a sentiment spike that held ten days, then resolved."""
    base: dict[str, Any] = {
        "incident_id": uuid.UUID("0f6e1c9a-54f1-4c5e-8e0e-5c1d7f3b2a10"),
        "community_id": "acme.micro.makers",
        "brand_id": "acme",
        "idea_id": None,
        "alert_type": "negative_sentiment_spike",
        "status": "resolved",
        "severity": "warning",
        "resolution": "condition_ended",
        "metric": "negative_share",
        "observed": Decimal("0.6250"),
        "baseline": Decimal("0.1500"),
        "days_held": 10,
        "opened_at": OPENED,
        "escalated_at": None,
        "last_seen_at": OPENED + timedelta(days=10),
        "resolved_at": OPENED + timedelta(days=13),
    }
    assert set(base) == set(INCIDENT_COLUMNS)
    return {**base, **overrides}


def test_a_resolved_incident_is_one_opened_and_one_resolved_message() -> None:
    messages = incident_messages([row()], RUN)
    assert [(m.event, m.event_at, m.severity) for m in messages] == [
        ("opened", OPENED, "warning"),
        ("resolved", OPENED + timedelta(days=13), "warning"),
    ]
    assert [m.resolution for m in messages] == [None, "condition_ended"]
    for message in messages:
        assert message.message_id == documented_message_id(message.incident_id, message.event)
        assert message.observed == 0.625 and message.baseline == 0.15
        assert message.days_held == 10
    assert "62%" in messages[0].summary and "15%" in messages[0].summary


def test_an_open_incident_that_escalated_opened_as_a_warning() -> None:
    escalated = OPENED + timedelta(days=2)
    open_row = row(
        status="open", severity="critical", resolution=None, resolved_at=None,
        escalated_at=escalated,
    )  # fmt: skip
    messages = incident_messages([open_row], RUN)
    assert [(m.event, m.event_at, m.severity) for m in messages] == [
        ("opened", OPENED, "warning"),
        ("escalated", escalated, "critical"),
    ]
    # Opened critical from the first day: no escalation.
    critical = incident_messages([row(severity="critical")], RUN)
    assert [(m.event, m.severity) for m in critical] == [
        ("opened", "critical"),
        ("resolved", "critical"),
    ]


def test_ids_do_not_depend_on_the_run_so_a_rerun_finds_nothing_new() -> None:
    rows = [
        row(),
        row(
            incident_id=uuid.uuid4(), alert_type="idea_unanswered", idea_id="idea-9",
            metric="hours_unanswered", observed=Decimal("200.5"), baseline=None,
            resolution="responded", community_id="acme.broad.portal",
        ),
    ]  # fmt: skip
    first = incident_messages(rows, RUN)
    again = incident_messages(rows, RERUN)
    sent = {m.message_id for m in first}
    assert len(sent) == 4
    assert [m for m in again if m.message_id not in sent] == []
    assert {m.run_id for m in again} == {RERUN.run_id}
    assert {m.event: m.resolution for m in first if m.idea_id}["resolved"] == "responded"


def test_messages_come_in_the_order_things_happened() -> None:
    later = row(incident_id=uuid.uuid4(), opened_at=OPENED + timedelta(days=1), resolved_at=None,
                status="open", resolution=None)  # fmt: skip
    messages = incident_messages([row(), later], RUN)
    assert [m.event_at for m in messages] == sorted(m.event_at for m in messages)
    assert [m.event for m in messages] == ["opened", "opened", "resolved"]


def test_an_incident_the_data_no_longer_has_is_withdrawn_once() -> None:
    recorded = [
        {
            "incident_id": uuid.UUID("11111111-2222-4333-8444-555555555555"),
            "alert_type": "engagement_drop",
            "community_id": "acme.micro.makers",
            "brand_id": "acme",
            "idea_id": None,
            "severity": "warning",
            "metric": "engagements_per_post",
            "opened_at": OPENED,
        }
    ]
    gone = withdrawn_messages(recorded, set(), RUN)
    assert [(m.event, m.resolution, m.resolved_at) for m in gone] == [
        ("resolved", "withdrawn", RUN.end)
    ]
    assert gone[0].message_id == documented_message_id(recorded[0]["incident_id"], "resolved")
    still_there = withdrawn_messages(recorded, {str(recorded[0]["incident_id"])}, RUN)
    assert still_there == []


def test_messages_are_valid_against_the_committed_json_schema() -> None:
    schema = json.loads((SCHEMA_DIR / "community.incidents.v1.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    escalated = row(severity="critical", escalated_at=OPENED + timedelta(days=1))
    messages = incident_messages([row(), escalated], RUN)
    assert len(messages) == 5
    for message in messages:
        validator.validate(json.loads(message.model_dump_json()))


def test_a_week_rule_incident_is_announced_with_its_share_and_fits_the_schema() -> None:
    """core_members_quiet is the one type only incidents have (the alerts topic never had it):
    judged by ISO week, seven days held per week, its figure a share of core members."""
    schema = json.loads((SCHEMA_DIR / "community.incidents.v1.schema.json").read_text())
    quiet = row(
        alert_type="core_members_quiet", metric="quiet_core_share", observed=Decimal("0.5333"),
        baseline=Decimal("0.0652"), days_held=14, last_seen_at=OPENED + timedelta(days=14),
        resolved_at=OPENED + timedelta(days=21),
    )  # fmt: skip
    opened, resolved = incident_messages([quiet], RUN)
    assert (opened.alert_type, opened.days_held) == ("core_members_quiet", 14)
    assert "share of core members gone quiet 53% against its usual 7%" in opened.summary
    assert resolved.summary.startswith("resolved after 14 day(s)")
    for message in (opened, resolved):
        jsonschema.Draft202012Validator(schema).validate(json.loads(message.model_dump_json()))
    assert "core_members_quiet" in schema["properties"]["alert_type"]["enum"]
    assert set(INCIDENT_TYPES) == set(get_args(IncidentType))


def test_the_model_refuses_inconsistent_events() -> None:
    (opened, _resolved) = incident_messages([row()], RUN)
    body = json.loads(opened.model_dump_json())
    with pytest.raises(ValueError, match="resolution"):
        IncidentEvent.model_validate({**body, "resolution": "condition_ended"})
    with pytest.raises(ValueError, match="critical"):
        IncidentEvent.model_validate({**body, "event": "escalated"})
    with pytest.raises(ValueError, match="unknown"):
        message_id(opened.incident_id, "reopened")
