"""The dead_letter_replay DAG, through `dag.test()`, on a real broker and warehouse.

A producer sends a post whose content_type the contract does not know yet ("gif"): the consumer
quarantines it. The contract then learns the value (the test extends the pydantic models the way
a contract change would and installs them where the decoder looks them up). Replayed, the message
goes back into the inbound topic once, the consumer stores it once, and a second replay finds
nothing to do. Before the contract change, a replay leaves it quarantined.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Union, get_args

import psycopg
import pytest
from kafka import KafkaProducer
from pydantic import Field, TypeAdapter
from support.pipeline import consume, private_airflow, pulse_environment, read_topic

from pulse import orchestration
from pulse.settings import Settings
from pulse.warehouse.init import ensure_pipeline_tables
from streaming import contracts, decode
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COMMUNITY = "brand_1.micro.plant_care"


def _event(content_type: str, **payload: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "post.created",
        "schema_version": 1,
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "community_id": COMMUNITY,
        "member_id": "u42",
        "platform": "discord",
        "payload": {
            "post_id": f"p{uuid.uuid4().hex[:6]}",
            "author_role": "member",
            "content_type": content_type,
            "text": "look at my monstera",
            **payload,
        },
    }


def contract_accepting_gif() -> TypeAdapter[Any]:
    """The inbound contract with one change: post.created content_type may also be "gif"."""

    class PostCreatedV2(contracts.PostCreated):
        content_type: Literal["text", "image", "video", "link", "live_class", "event", "gif"]

    class PostCreatedEventV2(contracts._Envelope):
        event_type: Literal["post.created"]
        payload: PostCreatedV2

    union, *_ = get_args(contracts.InboundEvent)
    members = tuple(
        PostCreatedEventV2 if member is contracts.PostCreatedEvent else member
        for member in get_args(union)
    )
    return TypeAdapter(Annotated[Union[members], Field(discriminator="event_type")])  # noqa: UP007


def _replay(conf: dict[str, Any]) -> tuple[str, str]:
    dag_run = orchestration.load_dag("dead_letter_replay").test(run_conf=conf)
    return str(dag_run.state), dag_run.run_id


def _outcomes(dsn: str, run_id: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return dict(
            conn.execute(
                "select outcome, count(*) from quality.dead_letter_replays where run_id = %s "
                "group by outcome",
                [run_id],
            ).fetchall()
        )


def test_a_dead_letter_fixed_by_a_contract_change_is_replayed_once_and_lands_in_raw_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_airflow()
    assert settings.pg_dsn is not None
    dsn = settings.pg_dsn.get_secret_value()
    ensure_pipeline_tables(dsn)
    bootstrap = str(settings.kafka_bootstrap)
    ensure_topics(bootstrap, pipeline_topics(settings))
    for variable, value in pulse_environment(settings).items():
        monkeypatch.setenv(variable, value)

    valid, gif = _event("image"), _event("gif")
    sender = KafkaProducer(bootstrap_servers=bootstrap)
    for value in (json.dumps(valid).encode(), json.dumps(gif).encode(), b'{"event_id": '):
        sender.send(settings.events_topic, key=COMMUNITY.encode(), value=value).get(timeout=30)
    sender.close()
    consume(settings)
    with psycopg.connect(dsn) as conn:
        letters = dict(
            conn.execute("select reason, event_id from raw.dead_letter_events").fetchall()
        )
        assert conn.execute("select count(*) from raw.community_events").fetchone() == (1,)
    assert letters == {"schema_violation": gif["event_id"], "invalid_json": None}

    # Today's contract still rejects it: the replay leaves it quarantined.
    state, before_fix = _replay({"reason": "schema_violation"})
    assert "success" in state.lower()
    assert _outcomes(dsn, before_fix) == {"still_invalid": 1}

    monkeypatch.setattr(decode, "INBOUND_ADAPTER", contract_accepting_gif())
    state, first = _replay({"reason": "schema_violation"})
    assert "success" in state.lower()
    assert _outcomes(dsn, first) == {"reinjected": 1}
    state, second = _replay({})  # every reason: the invalid JSON is still invalid
    assert "success" in state.lower()
    assert _outcomes(dsn, second) == {"still_invalid": 1}

    consume(settings)
    with psycopg.connect(dsn) as conn:
        stored = conn.execute(
            "select source_partition, source_offset from raw.community_events where event_id = %s",
            [gif["event_id"]],
        ).fetchall()
        replayed = conn.execute(
            "select d.replayed_at is not null, r.target_partition, r.target_offset "
            "from raw.dead_letter_events as d join quality.dead_letter_replays as r "
            "using (dead_letter_id) where r.outcome = 'reinjected'"
        ).fetchall()
        still_quarantined = conn.execute(
            "select reason from raw.dead_letter_events where replayed_at is null"
        ).fetchall()
    assert len(stored) == 1
    assert replayed == [(True, *stored[0])]
    assert still_quarantined == [("invalid_json",)]
    copies = [
        m
        for m in read_topic(bootstrap, settings.events_topic, expected=4)
        if any(name == "pulse.replay.of" for name, _ in m.headers)
    ]
    assert len(copies) == 1
    assert json.loads(copies[0].value) == gif  # the original bytes, member id and text included
