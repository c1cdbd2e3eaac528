"""Member erasure (`pulse.maintenance.erasure`) on a real warehouse: the quality redaction, a run
that fails mid-way, late arrivals and the verification.

Events reach raw the way ingest writes them (support.warehouse.load_raw: the consumer's decoder
and COPY), or through the real consumer where Kafka matters (late arrivals, dead letters).
`support_desk.tickets` stands for a table added later by someone else: the erasure must find it
by its member_key column.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from conftest import TEST_PSEUDONYM_KEY
from psycopg import sql
from psycopg.types.json import Jsonb
from support.ingest import produce_exactly
from support.pipeline import consume
from support.warehouse import load_raw

from pulse.errors import PulseError
from pulse.maintenance.erasure import (
    REDACTED,
    ErasureIncomplete,
    apply_erasures,
    key_digest,
    member_key_tables,
    require_erased,
    verify_erasures,
)
from pulse.settings import Settings
from streaming.privacy import Pseudonymizer
from streaming.topics import ensure_topics, pipeline_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COMMUNITY = "brand_3.micro.sourdough"
PLATFORM = "discord"
ERASED, KEPT = "ana", "bo"
KEY = Pseudonymizer(TEST_PSEUDONYM_KEY).member_key(PLATFORM, ERASED)
KEPT_KEY = Pseudonymizer(TEST_PSEUDONYM_KEY).member_key(PLATFORM, KEPT)


def event(member_id: str, event_type: str = "post.created", **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if event_type == "post.created":
        payload = {"post_id": f"p{uuid.uuid4().hex[:8]}", "author_role": "member"}
        payload.update(content_type="text", text="first loaf of the year")
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "community_id": COMMUNITY,
        "member_id": member_id,
        "platform": PLATFORM,
        "payload": payload,
        **changes,
    }


def store(dsn: str, settings: Settings, events: list[dict[str, Any]], first_offset: int) -> None:
    load_raw(dsn, [json.dumps(e).encode() for e in events], settings, first_offset=first_offset)


def tables_holding(dsn: str, needle: str) -> dict[str, int]:
    """Rows, per base table of every non-system schema, whose text form contains `needle`."""
    found = {}
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' "
            "and table_schema not in ('pg_catalog', 'information_schema') "
            "and table_schema not like 'pg\\_%%'"
        ).fetchall()
        for schema, table in tables:
            row = conn.execute(
                sql.SQL("select count(*) from {} as t where strpos(t::text, %s) > 0").format(
                    sql.Identifier(schema, table)
                ),
                [needle],
            ).fetchone()
            if row and row[0]:
                found[f"{schema}.{table}"] = row[0]
    return found


def add_tickets(dsn: str, *members: str, grant: bool = True) -> None:
    """A table someone added later, with a member_key column and a row per member; whoever adds
    one grants the erasure role (pulse_owner) what it needs there, unless `grant` is False."""
    with psycopg.connect(dsn) as conn:
        conn.execute("create schema if not exists support_desk")
        conn.execute(
            "create table if not exists support_desk.tickets "
            "(ticket_id bigint generated always as identity, member_key text, note text)"
        )
        if grant:
            conn.execute("grant usage on schema support_desk to pulse_owner")
            conn.execute("grant select, delete on support_desk.tickets to pulse_owner")
        for member_key in members:
            conn.execute(
                "insert into support_desk.tickets (member_key, note) values (%s, 'oven help')",
                [member_key],
            )


def count(dsn: str, query: str, params: Any = None) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def plant_gate_result(dsn: str, *quoted_keys: str) -> int:
    """A marts-gate result whose examples of unexpected values quote member keys."""
    run = uuid.uuid4()
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into quality.validation_runs (validation_run_id, run_id, layer, "
            "checkpoint_name, success, evaluated_expectations, successful_expectations, "
            "started_at, finished_at, great_expectations_version) "
            "values (%s, 'run-1', 'raw', 'raw_checkpoint', false, 1, 0, %s, %s, '1.x')",
            [run, now, now],
        )
        row = conn.execute(
            "insert into quality.validation_results (validation_run_id, run_id, layer, suite, "
            "data_asset, expectation, column_name, kwargs, success, observed_value, "
            "unexpected_count, element_count, exception_message) values (%s, 'run-1', 'raw', "
            "'raw_events', 'community_events', 'expect_column_values_to_match_regex', "
            "'member_key', %s, false, %s, %s, 100, %s) returning validation_result_id",
            [
                run,
                Jsonb({"column": "member_key", "value_set": list(quoted_keys)}),
                Jsonb({"partial_unexpected_list": [*quoted_keys, "not-a-key"]}),
                len(quoted_keys),
                f"unexpected values: {', '.join(quoted_keys)}",
            ],
        ).fetchone()
    assert row is not None
    return int(row[0])


def gate_result(dsn: str, result_id: int) -> tuple[Any, Any, Any]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select kwargs, observed_value, exception_message from quality.validation_results "
            "where validation_result_id = %s",
            [result_id],
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


# -- quality.* -----------------------------------------------------------------------------------


def test_an_erased_key_quoted_in_quality_results_is_replaced_by_erased(
    settings: Settings, pg_dsn: str
) -> None:
    store(pg_dsn, settings, [event(ERASED), event(KEPT), event(ERASED, "member.erased")], 0)
    both = plant_gate_result(pg_dsn, KEY, KEPT_KEY)
    kept_only = plant_gate_result(pg_dsn, KEPT_KEY)
    with psycopg.connect(pg_dsn) as conn:
        conn.execute(
            "insert into quality.pipeline_runs (dag_id, run_id, attempt, interval_start, "
            "interval_end, status, error) values ('community_metrics', 'run-1', 1, now(), "
            "now() + interval '1 hour', 'failed', %s)",
            [f"marts gate FAILED: member_key {KEY} twice in fct_x"],
        )
    kept_before = gate_result(pg_dsn, kept_only)

    report = apply_erasures(pg_dsn, run_id="erasure-1")

    assert report.members == 1
    kwargs, observed, message = gate_result(pg_dsn, both)
    assert kwargs == {"column": "member_key", "value_set": [REDACTED, KEPT_KEY]}
    assert observed == {"partial_unexpected_list": [REDACTED, KEPT_KEY, "not-a-key"]}
    assert message == f"unexpected values: {REDACTED}, {KEPT_KEY}"
    assert gate_result(pg_dsn, kept_only) == kept_before  # a key not erased stays quoted
    error = count(
        pg_dsn,
        "select count(*) from quality.pipeline_runs where error = %s",
        [f"marts gate FAILED: member_key {REDACTED} twice in fct_x"],
    )
    assert error == 1
    assert report.values_redacted == 4  # kwargs, observed value, message, run error
    assert tables_holding(pg_dsn, KEY) == {}
    assert count(pg_dsn, "select values_redacted from quality.erasure_runs") == 4


# -- a run that fails mid-way ---------------------------------------------------------------------


def test_an_erasure_failing_mid_way_changes_nothing_names_the_table_and_a_later_run_completes_it(
    settings: Settings, pg_dsn: str
) -> None:
    store(pg_dsn, settings, [event(ERASED), event(KEPT), event(ERASED, "member.erased")], 0)
    plant_gate_result(pg_dsn, KEY)
    # raw.* sorts before support_desk.*: the run deletes from raw, then meets the ticket row a
    # support tool holds in an open transaction, longer than the erasure's lock_timeout.
    add_tickets(pg_dsn, KEY, KEPT_KEY)
    before = tables_holding(pg_dsn, KEY)
    assert set(before) == {
        "raw.community_events",
        "quality.validation_results",
        "support_desk.tickets",
    }
    with psycopg.connect(pg_dsn) as conn:
        order = member_key_tables(conn)
    assert order.index(("raw", "community_events")) < order.index(("support_desk", "tickets"))
    impatient = f"{pg_dsn}?options=-c%20lock_timeout%3D500"
    holder = psycopg.connect(pg_dsn)
    try:
        holder.execute("select * from support_desk.tickets where member_key = %s for update", [KEY])
        with pytest.raises(PulseError) as failed:
            apply_erasures(impatient, run_id="erasure-blocked")
    finally:
        holder.rollback()
        holder.close()

    message = str(failed.value)
    assert "support_desk.tickets" in message and "nothing" in message, message
    # One transaction: the deletes from raw and the redaction were rolled back with it.
    assert tables_holding(pg_dsn, KEY) == before
    for table in ("quality.erased_members", "quality.member_erasures", "quality.erasure_runs"):
        assert count(pg_dsn, f"select count(*) from {table}") == 0, table

    report = apply_erasures(pg_dsn, run_id="erasure-again")
    assert (report.requests, report.members) == (1, 1)
    assert report.rows_deleted == {"raw.community_events": 2, "support_desk.tickets": 1}
    assert tables_holding(pg_dsn, KEY) == {}
    assert verify_erasures(pg_dsn) == {}
    assert count(pg_dsn, "select count(*) from support_desk.tickets") == 1  # the other member's


def test_a_member_key_table_the_erasure_role_may_not_write_fails_the_run_naming_it(
    settings: Settings, pg_dsn: str
) -> None:
    store(pg_dsn, settings, [event(ERASED), event(ERASED, "member.erased")], 0)
    add_tickets(pg_dsn, KEY, grant=False)
    with pytest.raises(PulseError, match=r"support_desk\.tickets") as failed:
        apply_erasures(pg_dsn, run_id="erasure-no-grant")
    assert "nothing was erased" in str(failed.value)
    assert count(pg_dsn, "select count(*) from raw.community_events where member_key = %s", [KEY])


# -- late arrivals ------------------------------------------------------------------------------


def test_events_and_dead_letters_of_a_member_erased_earlier_are_removed_by_the_next_run(
    settings: Settings,
) -> None:
    assert settings.pg_dsn is not None
    dsn = settings.pg_dsn.get_secret_value()
    bootstrap = str(settings.kafka_bootstrap)
    ensure_topics(bootstrap, pipeline_topics(settings))

    def ingest(*events: dict[str, Any]) -> None:
        values = [(COMMUNITY.encode(), json.dumps(e).encode(), []) for e in events]
        produce_exactly(bootstrap, settings.events_topic, values)
        consume(settings)

    ingest(event(ERASED), event(ERASED, "member.erased"))
    first = apply_erasures(dsn, run_id="erasure-1")
    assert (first.requests, first.members) == (1, 1)
    assert tables_holding(dsn, KEY) == {}
    assert (
        count(
            dsn,
            "select count(*) from quality.erased_members where member_key_sha256 = %s",
            [key_digest(KEY)],
        )
        == 1
    )

    # Delivered after the erasure, with another member's post: first a post dated a day ahead
    # (a dead letter, whose redacted copy carries the member key), later a comment (stored).
    ahead = event(ERASED, occurred_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    ingest(ahead, event(KEPT))
    assert verify_erasures(dsn) == {"raw.dead_letter_events": 1}
    second = apply_erasures(dsn, run_id="erasure-2")
    assert (second.requests, second.late_arrivals, second.members) == (0, 1, 1)
    assert second.rows_deleted == {"raw.dead_letter_events": 1}
    assert verify_erasures(dsn) == {}

    comment = {"comment_id": "c1", "post_id": "p1", "author_role": "member"}
    ingest(event(ERASED, "comment.created", payload=comment))
    assert verify_erasures(dsn) == {"raw.community_events": 1}
    third = apply_erasures(dsn, run_id="erasure-3")
    assert (third.requests, third.late_arrivals, third.members) == (0, 1, 1)
    assert third.rows_deleted == {"raw.community_events": 1}

    assert tables_holding(dsn, KEY) == {}
    assert verify_erasures(dsn) == {}
    assert count(dsn, "select count(*) from raw.community_events") == 1  # the other member's


# -- require_erased -------------------------------------------------------------------------------


def test_require_erased_raises_naming_each_table_that_still_holds_an_erased_members_rows(
    settings: Settings, pg_dsn: str
) -> None:
    store(pg_dsn, settings, [event(ERASED), event(KEPT), event(ERASED, "member.erased")], 0)
    apply_erasures(pg_dsn, run_id="erasure-1")
    require_erased(pg_dsn)  # nothing left: no error

    # Rows of the erased member come back past any erasure run: a late event, a ticket.
    store(pg_dsn, settings, [event(ERASED, "member.left", payload={})], 10)
    add_tickets(pg_dsn, KEY, KEPT_KEY)
    assert verify_erasures(pg_dsn) == {"raw.community_events": 1, "support_desk.tickets": 1}
    with pytest.raises(ErasureIncomplete) as left:
        require_erased(pg_dsn)
    assert "raw.community_events (1)" in str(left.value)
    assert "support_desk.tickets (1)" in str(left.value)

    apply_erasures(pg_dsn, run_id="erasure-2")
    require_erased(pg_dsn)


# -- requests without a platform, and requests that match nothing --------------------------------


def test_an_erasure_without_a_platform_removes_the_member_seen_on_two_platforms(
    settings: Settings, pg_dsn: str
) -> None:
    keys = Pseudonymizer(TEST_PSEUDONYM_KEY)
    on_discord, on_reddit = keys.member_key("discord", ERASED), keys.member_key("reddit", ERASED)
    request = event(ERASED, "member.erased")
    del request["platform"]  # the member asks to be forgotten everywhere
    store(
        pg_dsn,
        settings,
        [event(ERASED), event(ERASED, platform="reddit"), event(KEPT), request],
        0,
    )
    assert tables_holding(pg_dsn, on_reddit) == {"raw.community_events": 1}

    report = apply_erasures(pg_dsn, run_id="erasure-everywhere")

    assert tables_holding(pg_dsn, on_discord) == {} and tables_holding(pg_dsn, on_reddit) == {}
    assert tables_holding(pg_dsn, KEPT_KEY) == {"raw.community_events": 1}
    assert report.unmatched_requests == []
    assert verify_erasures(pg_dsn) == {}
    # Its events arriving later from a third platform are caught by the next run.
    store(pg_dsn, settings, [event(ERASED, platform="facebook")], 10)
    apply_erasures(pg_dsn, run_id="erasure-late-platform")
    assert tables_holding(pg_dsn, keys.member_key("facebook", ERASED)) == {}


def test_a_request_that_matches_nothing_is_reported_and_recorded(
    settings: Settings, pg_dsn: str
) -> None:
    ghost = event("nobody-we-know", "member.erased")
    store(pg_dsn, settings, [event(KEPT), ghost], 0)

    report = apply_erasures(pg_dsn, run_id="erasure-ghost")

    assert report.unmatched_requests == [ghost["event_id"]]
    assert (
        count(
            pg_dsn,
            "select matched_rows from quality.member_erasures where erasure_event_id = %s",
            [ghost["event_id"]],
        )
        == 0
    )
    assert tables_holding(pg_dsn, KEPT_KEY) == {"raw.community_events": 1}
