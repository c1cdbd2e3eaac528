"""The committed JSON Schemas are exactly what the pydantic models generate."""

from __future__ import annotations

import json

import jsonschema

from streaming.schemas import expected_files


def test_committed_topic_schemas_match_the_models() -> None:
    for path, text in expected_files().items():
        assert path.exists(), f"{path.name} is missing: run `pulse schemas --write`"
        assert path.read_text() == text, f"{path.name} drifted: run `pulse schemas --write`"


def test_inbound_schema_accepts_a_valid_event_and_rejects_an_unknown_type() -> None:
    path = next(p for p in expected_files() if p.name.startswith("community.events.v1"))
    schema = json.loads(path.read_text())
    event = {
        "event_id": "6a1f4b8e-2a7d-4c55-9a41-2f1e3c7d9b10",
        "event_type": "feedback.voted",
        "schema_version": 1,
        "occurred_at": "2026-11-01T10:00:00+00:00",
        "community_id": "brand_1.micro.plants",
        "member_id": "u1",
        "payload": {"idea_id": "i1", "direction": "up"},
    }
    jsonschema.validate(event, schema)
    try:
        jsonschema.validate({**event, "event_type": "post.deleted"}, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("an unknown event_type passed the committed schema")
