"""Raw rows written the way the ingest consumer writes them: decode, COPY into a temporary
table, then insert ... on conflict do nothing (the contract between ingest and dbt)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import psycopg
from psycopg import sql

from pulse.settings import Settings
from streaming.decode import EVENT_COLUMNS, Decoder, EventRow
from streaming.privacy import Pseudonymizer


def pseudonym_key_of(settings: Settings) -> str:
    assert settings.pseudonym_key is not None
    return settings.pseudonym_key.get_secret_value()


def load_raw(dsn: str, values: Iterable[bytes], settings: Settings, first_offset: int = 0) -> int:
    """Store messages in raw.community_events as the consumer does; returns rows inserted."""
    decoder = Decoder(Pseudonymizer(pseudonym_key_of(settings)), timedelta(minutes=5))
    rows = []
    for offset, value in enumerate(values, first_offset):
        decoded = decoder.decode(settings.events_topic, 0, offset, None, value)
        assert isinstance(decoded, EventRow), f"fixture message {offset} rejected: {decoded}"
        rows.append(decoded.copy_row(settings.events_topic))
    columns = sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "create temp table incoming (like raw.community_events including defaults) "
            "on commit drop"
        )
        with conn.cursor().copy(sql.SQL("copy incoming ({}) from stdin").format(columns)) as copy:
            for row in rows:
                copy.write_row(row)
        inserted = conn.execute(
            sql.SQL(
                "insert into raw.community_events ({cols}) select {cols} from incoming "
                "on conflict (event_id) do nothing"
            ).format(cols=columns)
        ).rowcount
    return inserted
