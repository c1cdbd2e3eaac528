"""Privacy at ingest (docs/contracts.md, "Privacy"): member ids and free text never reach the
warehouse.

A marker is planted in member ids and in the `text` of posts, comments and ideas, in valid events
and in invalid ones (every dead-letter reason that keeps a redacted copy, and some that keep
nothing); under field names the contract does not know (`memberId`, `email`, an `author` object,
nested in the payload); as the Kafka key; and in a record the Kafka client cannot parse. After
ingest, every column of every table and view in every non-system schema is searched for it, cast
to text (and as bytes for bytea columns). The member key is searched the same way, as a positive
control: it must be found where the member id would have been.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import TEST_PSEUDONYM_KEY
from psycopg import sql
from support.ingest import (
    MIB,
    NOT_UTF8_PLACEHOLDER,
    in_process_config,
    produce_exactly,
    produce_raw,
    record_batch,
)

from pulse.settings import Settings
from streaming.consumer import IngestConsumer
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = pytest.mark.integration

MARKER = "PLANTED-MARKER-7f3a"
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "ingest" / "valid_events.jsonl"
EXAMPLES: dict[str, dict[str, Any]] = {
    event["event_type"]: event
    for event in (json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip())
}


def member_key(platform: str, member_id: str) -> str:
    message = f"{platform}:{member_id}".encode()
    return hmac.new(TEST_PSEUDONYM_KEY.encode(), message, hashlib.sha256).hexdigest()


def member_ref(member_id: str) -> str:
    sub_key = hmac.new(TEST_PSEUDONYM_KEY.encode(), b"member-ref", hashlib.sha256).digest()
    return hmac.new(sub_key, member_id.encode(), hashlib.sha256).hexdigest()


def _event(
    event_type: str, member: Any, text: str | None = None, /, **envelope: Any
) -> dict[str, Any]:
    event = copy.deepcopy(EXAMPLES[event_type])
    event["event_id"] = str(uuid.uuid4())
    event["member_id"] = member
    if text is not None:
        event["payload"]["text"] = text
    event.update(envelope)
    return event


def _json(event: Any) -> bytes:
    return json.dumps(event).encode()


def planted() -> tuple[list[tuple[bytes, bytes, list]], dict[str, str]]:
    """Messages carrying the marker, and the member id each valid or redacted one uses."""
    members = {name: f"{MARKER}-{name}" for name in ("joined", "post", "comment", "idea", "bad")}
    text = f"{MARKER} says this is great and helpful"
    valid = [
        _event("member.joined", members["joined"]),
        _event("post.created", members["post"], text),
        _event("comment.created", members["comment"], text),  # with a sent sentiment
        _event("feedback.submitted", members["idea"], text),  # with a sent sentiment
    ]
    too_long = _event("member.left", f"{MARKER}-" + "x" * 200)
    bad_enum = _event("post.created", members["bad"], text)
    bad_enum["payload"]["content_type"] = "gif"
    invalid = [
        bad_enum,  # schema_violation, member id and text present
        too_long,  # schema_violation: member id too long
        _event("member.left", {"id": MARKER}),  # schema_violation: member id not a string
        _event("member.left", [MARKER, MARKER]),  # schema_violation: member id a list
        _event("member.joined", f"{MARKER}\x00"),  # schema_violation: NUL in member id
        _event("comment.created", members["bad"], text, occurred_at="2999-01-01T00:00:00Z"),
        _event("post.created", members["bad"], text, event_type="post.deleted"),
        _event("post.created", members["bad"], text, occurred_at=1_777_000_000),
    ]
    messages = [(b"acme.micro.plant_care", _json(e), []) for e in valid + invalid]
    # Identifiers under names the contract does not know, nested, and as the Kafka key.
    elsewhere = _event("member.joined", "u-elsewhere", None, event_id="not-a-uuid")
    elsewhere.update(
        memberId=MARKER,
        email=f"{MARKER}@example.com",
        author={"id": MARKER, "profile": {"name": MARKER}},
    )
    elsewhere["payload"]["member"] = {"id": MARKER}
    nested = _event("post.created", "u-nested", None, event_type="post.hidden")
    nested["payload"].pop("text", None)
    nested["payload"]["post_id"] = {"author": MARKER}
    nested["payload"]["tags"] = [MARKER[:5], {"by": MARKER}]
    nested["community_id"] = {"owner": MARKER}
    as_key = f"{MARKER}-as-key".encode()
    messages += [
        (as_key, _json(elsewhere), []),
        (as_key, _json(nested), []),
        (as_key, b"{not json " + MARKER.encode(), []),
        (as_key, _json(_event("member.joined", "u-valid-with-marker-key")), []),
    ]
    broken = _json(_event("post.created", members["bad"], text))
    messages += [
        (b"acme.micro.plant_care", broken[:-3], []),  # invalid_json
        (b"acme.micro.plant_care", broken.replace(b"great", b"gr\xffat"), []),  # invalid_utf8
        (b"acme.micro.plant_care", broken[:-2] + b" " * MIB + broken[-2:], []),  # oversized
    ]
    return messages, members


def _columns(conn: psycopg.Connection) -> list[tuple[str, str, str, str]]:
    """Every column of every table, view and materialized view outside the system schemas."""
    return conn.execute(
        """
        select n.nspname, c.relname, a.attname, t.typname
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_type t on t.oid = a.atttypid
        where c.relkind in ('r', 'p', 'v', 'm', 'f')
          and a.attnum > 0 and not a.attisdropped
          and n.nspname not in ('pg_catalog', 'information_schema')
          and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
        order by 1, 2, 3
        """
    ).fetchall()


def search(dsn: str, needle: str) -> dict[str, int]:
    """`schema.table.column` -> rows whose value holds `needle` (as text, or as bytes)."""
    hits = {}
    with psycopg.connect(dsn) as conn:
        columns = _columns(conn)
        assert len(columns) > 40, "the search must see the raw tables at least"
        for schema, table, column, type_name in columns:
            relation, col = sql.Identifier(schema, table), sql.Identifier(column)
            condition = sql.SQL("position({} in {}::text) > 0").format(sql.Literal(needle), col)
            if type_name == "bytea":
                condition = sql.SQL("({}) or position({} in {}) > 0").format(
                    condition, sql.Literal(needle.encode()), col
                )
            count = conn.execute(
                sql.SQL("select count(*) from {} where {}").format(relation, condition)
            ).fetchone()[0]
            if count:
                hits[f"{schema}.{table}.{column}"] = count
    return hits


def test_member_ids_and_free_text_never_reach_any_table(settings: Settings) -> None:
    assert settings.kafka_bootstrap is not None and settings.pg_dsn is not None
    ensure_topics(settings.kafka_bootstrap, pipeline_topics(settings))
    messages, members = planted()
    produce_exactly(settings.kafka_bootstrap, settings.events_topic, messages)
    # A record the client cannot parse: marker in its key, value and a header.
    poison = _json(_event("member.joined", f"{MARKER}-poison"))
    headers = [(NOT_UTF8_PLACEHOLDER, MARKER.encode()), ("trace", MARKER.encode())]
    batch = record_batch([(f"{MARKER}-poison-key".encode(), poison, headers)])
    produce_raw(settings.kafka_bootstrap, settings.events_topic, 0, batch)

    report = IngestConsumer(in_process_config(settings, stop_when_idle_s=2.0)).run()
    assert report.messages == len(messages) + 1
    assert (report.inserted, report.dead_letters) == (5, len(messages) + 1 - 5)
    assert report.dead_letters_by_reason["undecodable_record"] == 1
    dsn = settings.pg_dsn.get_secret_value()

    assert search(dsn, MARKER) == {}, "a planted member id or text was stored"

    # Positive control: the member keys are where the member ids would have been.
    for name in ("joined", "post", "comment", "idea"):
        hits = search(dsn, member_key("discord" if name != "idea" else "brand_app", members[name]))
        assert hits == {"raw.community_events.member_key": 1}, name
    # ...and the platform-independent reference beside it, for erasures without a platform.
    assert search(dsn, member_ref(members["joined"])) == {"raw.community_events.member_ref": 1}
    assert search(dsn, member_ref(members["bad"])) == {"raw.dead_letter_events.member_ref": 4}
    hits = search(dsn, member_key("discord", members["bad"]))
    assert hits == {
        "raw.dead_letter_events.member_key": 4,
        "raw.dead_letter_events.redacted_value": 4,
    }
    with psycopg.connect(dsn) as conn:
        scored = conn.execute(
            "select event_type, sentiment_source, text_length from raw.community_events "
            "where text_length is not null order by event_type"
        ).fetchall()
        redacted = conn.execute(
            "select reason, redacted_value from raw.dead_letter_events "
            "where redacted_value is not null order by source_offset"
        ).fetchall()
    text_length = len(f"{MARKER} says this is great and helpful")
    assert scored == [
        ("comment.created", "sent", text_length),
        ("feedback.submitted", "sent", text_length),
        ("post.created", "vader", text_length),
    ]
    assert {reason for reason, _ in redacted} == {
        "schema_violation",
        "future_timestamp",
        "unknown_event_type",
    }
    with_text = [value["payload"] for _, value in redacted if "text_length" in value["payload"]]
    assert len(with_text) == 4
    assert all(p["text_length"] == text_length and "text" not in p for p in with_text)
