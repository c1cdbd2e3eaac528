"""Topic creation. Tansu auto-creates topics on first produce with its own partition count, so
every topic the pipeline uses is created explicitly, before anything produces to it."""

from __future__ import annotations

import contextlib
import logging

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

logger = logging.getLogger(__name__)


def ensure_topics(bootstrap: str, partitions_by_topic: dict[str, int]) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="pulse-admin")
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name=name, num_partitions=partitions, replication_factor=1)
            for name, partitions in partitions_by_topic.items()
            if name not in existing
        ]
        if missing:
            # Another process may win the race to create a topic: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
        return [topic.name for topic in missing]
    finally:
        admin.close()


def pipeline_topics(settings: object) -> dict[str, int]:
    """The pipeline's topics and their partition counts, from settings."""
    return {
        settings.events_topic: settings.events_partitions,  # type: ignore[attr-defined]
        settings.dlq_topic: 1,  # type: ignore[attr-defined]
        settings.metrics_topic: settings.events_partitions,  # type: ignore[attr-defined]
        settings.alerts_topic: 1,  # type: ignore[attr-defined]
    }
