"""A dead letter the DLQ topic refuses for good stays in Postgres, marked unpublished, and ingest
goes on (docs/contracts.md, "Ingest"). Before, the consumer retried such a publish forever and
stopped ingesting.

The DLQ topic is created with a small `max.message.bytes` and the publisher honours it (the
embedded broker does not enforce topic configs, Apache Kafka refuses such a message the same way:
MessageSizeTooLarge, not retriable).
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from support.ingest import in_process_config, produce_exactly, read_topic

from pulse.local.generator import GeneratorConfig, generate
from pulse.settings import Settings
from streaming.consumer import IngestConsumer
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = pytest.mark.integration

DLQ_MAX = 4096


def test_dead_letter_the_dlq_topic_refuses_is_kept_unpublished_and_the_stream_goes_on(
    settings: Settings,
) -> None:
    assert settings.kafka_bootstrap is not None and settings.pg_dsn is not None
    settings = settings.model_copy(update={"dlq_max_message_bytes": DLQ_MAX})
    ensure_topics(settings.kafka_bootstrap, pipeline_topics(settings))
    valid = list(generate(GeneratorConfig(seed=9, events=200, invalid_share=0, duplicate_share=0)))
    too_big = json.dumps({"event_id": str(uuid.uuid4()), "pad": "x" * (3 * DLQ_MAX)}).encode()
    small = b'{"event_id": "broken'
    plan = [(m.key, m.value, []) for m in valid[:100]]
    plan += [(b"acme.micro.plant_care", too_big, []), (b"acme.micro.plant_care", small, [])]
    plan += [(m.key, m.value, []) for m in valid[100:]]
    positions = produce_exactly(settings.kafka_bootstrap, settings.events_topic, plan)

    config = in_process_config(
        settings, stop_when_idle_s=2.0, dlq_max_message_bytes=settings.dlq_max_message_bytes
    )
    report = IngestConsumer(config).run()

    assert report.inserted == len(valid), "every valid event, before and after, is stored"
    assert (report.dead_letters, report.dlq_unpublished) == (2, 1)
    with psycopg.connect(settings.pg_dsn.get_secret_value()) as conn:
        rows = conn.execute(
            "select source_partition, source_offset, reason, dlq_published, dlq_error "
            "from raw.dead_letter_events order by source_partition, source_offset"
        ).fetchall()
    by_position = {(p, o): (reason, published, error) for p, o, reason, published, error in rows}
    big_at, small_at = positions[100], positions[101]
    assert by_position[big_at][:2] == ("schema_violation", False)
    assert "MessageSizeTooLarge" in by_position[big_at][2]
    assert by_position[small_at] == ("invalid_json", True, None)
    dlq = read_topic(settings.kafka_bootstrap, settings.dlq_topic, expected=1)
    assert [m.value for m in dlq] == [small]
