"""The consumer logged in as pulse_ingest itself, as docker-compose runs it: no superuser, no
SET ROLE. Everything it writes (events, dead letters, offsets, batches, the key's fingerprint)
it may write with the role's own grants, and nothing more."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from support.ingest import in_process_config, produce_exactly

from pulse.local.generator import GeneratorConfig, generate
from pulse.settings import Settings
from streaming.consumer import IngestConsumer
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = pytest.mark.integration


def login_as(dsn: str, user: str) -> str:
    """The same warehouse, logged in as `user` (the embedded server trusts local logins)."""
    return make_conninfo("", **{**conninfo_to_dict(dsn), "user": user})


def test_the_consumer_logged_in_as_pulse_ingest_stores_events_and_dead_letters(
    settings: Settings,
) -> None:
    assert settings.kafka_bootstrap is not None and settings.pg_dsn is not None
    admin = settings.pg_dsn.get_secret_value()
    ensure_topics(settings.kafka_bootstrap, pipeline_topics(settings))
    valid = list(generate(GeneratorConfig(seed=3, events=300, invalid_share=0, duplicate_share=0)))
    broken = json.dumps({"event_id": str(uuid.uuid4()), "event_type": "post.created"}).encode()
    plan = [(m.key, m.value, []) for m in valid[:150]]
    plan += [(b"acme.micro.plant_care", broken, [])]
    plan += [(m.key, m.value, []) for m in valid[150:]]
    produce_exactly(settings.kafka_bootstrap, settings.events_topic, plan)

    ingest = login_as(admin, "pulse_ingest")
    with psycopg.connect(ingest) as conn:
        assert conn.execute("select current_user, session_user").fetchone() == (
            "pulse_ingest",
            "pulse_ingest",
        )
    report = IngestConsumer(in_process_config(settings, pg_dsn=ingest)).run()

    assert (report.inserted, report.dead_letters) == (len(valid), 1)
    with psycopg.connect(admin) as conn:
        stored = conn.execute("select count(*) from raw.community_events").fetchone()
        dead = conn.execute("select reason from raw.dead_letter_events").fetchall()
        committed = conn.execute(
            "select sum(next_offset) from raw.consumer_offsets where consumer_group = %s",
            [settings.consumer_group],
        ).fetchone()
    assert stored == (len(valid),)
    assert dead == [("schema_violation",)]
    assert committed == (len(plan),)
    # and it still may not do what only other roles may
    with psycopg.connect(ingest) as conn:
        for statement in (
            "select 1 from quality.pipeline_runs limit 1",
            "delete from raw.community_events",
            "create schema smuggled",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)
