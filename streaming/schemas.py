"""JSON Schemas of every topic's messages, generated from the pydantic models.

The generated files are committed under streaming/schemas/ so producers and consumers in other
languages can validate against them; a test fails when the models and the files drift apart.
Regenerate with `pulse schemas --write`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

SCHEMA_DIR = Path(__file__).parent / "schemas"


def topic_models() -> dict[str, TypeAdapter[Any]]:
    """Topic name -> adapter of its message model."""
    from streaming.contracts import INBOUND_ADAPTER
    from streaming.incidents import INCIDENTS_ADAPTER
    from streaming.outbound import ALERTS_ADAPTER, METRICS_ADAPTER

    return {
        "community.events.v1": INBOUND_ADAPTER,
        "community.metrics.v1": METRICS_ADAPTER,
        "community.alerts.v1": ALERTS_ADAPTER,
        "community.incidents.v1": INCIDENTS_ADAPTER,
    }


def render(topic: str, adapter: TypeAdapter[Any]) -> str:
    schema = adapter.json_schema()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{topic}.schema.json",
        "title": topic,
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def expected_files() -> dict[Path, str]:
    return {
        SCHEMA_DIR / f"{topic}.schema.json": render(topic, adapter)
        for topic, adapter in topic_models().items()
    }


def write_schemas() -> list[Path]:
    """Write every topic's schema; returns the files that changed."""
    changed = []
    SCHEMA_DIR.mkdir(exist_ok=True)
    for path, text in expected_files().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed
