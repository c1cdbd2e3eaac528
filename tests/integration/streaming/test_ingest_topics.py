"""Topics are created from the settings and an existing topic that differs is reported (logged
and shown by `pulse status`), never silently used as if it matched."""

from __future__ import annotations

import logging

import pytest
from kafka import KafkaAdminClient
from rich.console import Console

from pulse.local.status import render_status
from pulse.settings import Settings
from streaming.topics import ensure_topics, pipeline_topics, topic_mismatches

pytestmark = pytest.mark.integration


def test_topics_are_created_as_the_settings_say_and_a_mismatch_is_reported(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.kafka_bootstrap is not None
    bootstrap = settings.kafka_bootstrap
    # The inbound topic exists already, with fewer partitions than the settings ask for.
    ensure_topics(bootstrap, {settings.events_topic: 2})
    with caplog.at_level(logging.WARNING, logger="streaming.topics"):
        created = ensure_topics(bootstrap, pipeline_topics(settings))
    assert settings.events_topic not in created
    assert {settings.dlq_topic, settings.metrics_topic, settings.alerts_topic} <= set(created)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        described = {t["name"]: t for t in admin.describe_topics(created)}
    finally:
        admin.close()
    assert len(described[settings.metrics_topic]["partitions"]) == settings.events_partitions
    assert len(described[settings.dlq_topic]["partitions"]) == settings.dlq_partitions

    expected = f"{settings.events_topic}: 2 partitions, the settings say 3"
    assert any(expected in record.getMessage() for record in caplog.records)
    assert topic_mismatches(bootstrap, pipeline_topics(settings)) == [expected]
    console = Console(record=True, width=200)
    render_status(settings, console)
    assert expected in console.export_text()
