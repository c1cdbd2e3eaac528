"""The pipeline's topics come from settings: partitions, replication, retention, message size."""

from __future__ import annotations

from pulse.settings import Settings
from streaming.topics import TopicSpec, pipeline_topics


def test_pipeline_topics_take_partitions_replication_retention_and_size_from_settings() -> None:
    settings = Settings(
        events_partitions=12,
        topic_replication_factor=3,
        events_retention_ms=1000,
        events_max_message_bytes=4096,
        dlq_partitions=2,
        dlq_retention_ms=500,
        dlq_max_message_bytes=8192,
    )
    topics = pipeline_topics(settings)
    assert topics[settings.events_topic] == TopicSpec(
        12, 3, {"retention.ms": "1000", "max.message.bytes": "4096"}
    )
    assert topics[settings.dlq_topic] == TopicSpec(
        2, 3, {"retention.ms": "500", "max.message.bytes": "8192"}
    )
    assert topics[settings.metrics_topic] == TopicSpec(12, 3)
    assert topics[settings.alerts_topic] == TopicSpec(1, 3)


def test_the_dlq_topic_keeps_original_bytes_for_a_short_time_by_default() -> None:
    settings = Settings()
    topics = pipeline_topics(settings)
    dlq = int(topics[settings.dlq_topic].configs["retention.ms"])
    events = int(topics[settings.events_topic].configs["retention.ms"])
    assert dlq == 7 * 24 * 3600 * 1000 and dlq < events
    # A dead letter is an inbound message plus headers: the DLQ topic must take the largest.
    assert settings.dlq_max_message_bytes > settings.events_max_message_bytes
