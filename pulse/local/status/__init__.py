"""`pulse status`: services, topics, positions vs stored offsets, gaps, the key, raw, the last run.

One `collect_status` (collect.py) gathers everything into a `Status` (verdict.py); the CLI
renders it as tables (render.py), as JSON (`--json`) or turns it into an exit code (`--check`,
codes in verdict.py). Kafka and PostgreSQL are asked side by side, each within
`PULSE_STATUS_TIMEOUT_S`, so a service that does not answer (stopped, frozen, unreachable) is
reported down instead of hanging the command.

It stays cheap however big raw grows: `raw.community_events` is never counted in full. Its row
count is the planner's estimate (`pg_class.reltuples`, scaled to the table's current size the way
the planner does), and an exact count only while the table is small (fewer than
`EXACT_COUNT_LIMIT` rows, counted with a LIMIT, so at most that many rows are read); its newest
`ingested_at` / `occurred_at` come from their indexes (one backward index scan each). Every other
query reads a small table (stored offsets, gaps, the key), one index (the last run) or the
aggregates of `raw.dead_letter_events` and `raw.ingest_batches` (a row per rejected message and
per batch, not per event).
"""

from pulse.local.status.collect import collect_status, count_events
from pulse.local.status.render import render, render_status
from pulse.local.status.verdict import (
    CHECK_CODES,
    EXACT_COUNT_LIMIT,
    EXIT_LAG,
    EXIT_OK,
    EXIT_SERVICE_DOWN,
    EXIT_STALE,
    Position,
    Problem,
    RowCount,
    Service,
    Status,
    Warehouse,
)

__all__ = [
    "CHECK_CODES",
    "EXACT_COUNT_LIMIT",
    "EXIT_LAG",
    "EXIT_OK",
    "EXIT_SERVICE_DOWN",
    "EXIT_STALE",
    "Position",
    "Problem",
    "RowCount",
    "Service",
    "Status",
    "Warehouse",
    "collect_status",
    "count_events",
    "render",
    "render_status",
]
