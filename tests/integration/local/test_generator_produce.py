"""`produce` against the real broker: every message arrives keyed and intact; an unreachable
broker is one clear error."""

from __future__ import annotations

from collections import Counter

import pytest
from kafka import KafkaConsumer, TopicPartition

from pulse.local.generator import GeneratorConfig, ProduceError, generate, produce
from pulse.local.stack import free_port
from pulse.settings import Settings
from streaming.topics import ensure_topics, pipeline_topics


def test_produce_delivers_every_generated_message_keyed_and_counts_kinds(
    settings: Settings,
) -> None:
    bootstrap = str(settings.kafka_bootstrap)
    ensure_topics(bootstrap, pipeline_topics(settings))
    messages = list(generate(GeneratorConfig(events=3000, days=7, invalid_share=0.01)))

    report = produce(messages, bootstrap, settings.events_topic, show_progress=False)

    assert report.sent == dict(Counter(m.kind for m in messages))
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [
        TopicPartition(settings.events_topic, p)
        for p in consumer.partitions_for_topic(settings.events_topic)
    ]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    received: Counter[tuple[bytes | None, bytes | None]] = Counter()
    for _ in range(60):
        for records in consumer.poll(timeout_ms=500, max_records=5000).values():
            received.update((r.key, r.value) for r in records)
        if sum(received.values()) >= len(messages):
            break
    consumer.close()
    assert received == Counter((m.key, m.value) for m in messages)


def test_produce_to_an_unreachable_broker_is_one_clear_error() -> None:
    messages = generate(GeneratorConfig(events=1000, days=7))
    with pytest.raises(ProduceError) as raised:
        produce(messages, f"127.0.0.1:{free_port()}", "nowhere", show_progress=False)
    assert "\n" not in str(raised.value)
