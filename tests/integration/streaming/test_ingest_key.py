"""The consumer refuses another pseudonym key than the warehouse's (docs/runbook.md, "Key
rotation"): with another key every member would be split in two and erasures by the old keys
would miss the new rows. A warehouse initialised before fingerprints were recorded gets the
fingerprint of the first consumer that starts.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import psycopg
import pytest
from conftest import TEST_PSEUDONYM_KEY
from pydantic import SecretStr
from support.ingest import produce_exactly, start_consumer, tail, wait_exit

from pulse.local.generator import GeneratorConfig, generate
from pulse.settings import Settings
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = pytest.mark.integration


def _fingerprint(key: str) -> str:
    return hmac.new(key.encode(), b"pulse key fingerprint", hashlib.sha256).hexdigest()


def test_first_consumer_records_its_key_and_a_consumer_with_another_key_refuses_to_start(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.kafka_bootstrap is not None and settings.pg_dsn is not None
    dsn = settings.pg_dsn.get_secret_value()
    ensure_topics(settings.kafka_bootstrap, pipeline_topics(settings))
    messages = list(generate(GeneratorConfig(seed=3, events=50, invalid_share=0)))
    produce_exactly(
        settings.kafka_bootstrap, settings.events_topic, [(m.key, m.value, []) for m in messages]
    )
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select count(*) from raw.pseudonym_key").fetchone() == (0,)

    log = tmp_path / "consumer.log"
    assert wait_exit(start_consumer(settings, log, stop_when_idle_s=2), 120, log) == 0, tail(log)
    with psycopg.connect(dsn) as conn:
        recorded = conn.execute(
            "select fingerprint from raw.pseudonym_key where retired_at is null"
        ).fetchall()
        stored = conn.execute("select count(*) from raw.community_events").fetchone()[0]
    assert recorded == [(_fingerprint(TEST_PSEUDONYM_KEY),)]
    assert TEST_PSEUDONYM_KEY not in str(recorded)

    other = settings.model_copy(update={"pseudonym_key": SecretStr("another-key-entirely")})
    more = list(generate(GeneratorConfig(seed=4, events=20, invalid_share=0)))
    produce_exactly(
        settings.kafka_bootstrap, settings.events_topic, [(m.key, m.value, []) for m in more]
    )
    refused_log = tmp_path / "refused.log"
    code = wait_exit(start_consumer(other, refused_log, stop_when_idle_s=2), 60, refused_log)
    output = refused_log.read_text()
    assert code == 1, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "pseudonym key" in errors[0], output
    assert "Traceback" not in output
    assert "another-key-entirely" not in output
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select count(*) from raw.community_events").fetchone()[0] == stored
