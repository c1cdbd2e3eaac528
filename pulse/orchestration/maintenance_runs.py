"""The maintenance DAGs' tasks: replay dead letters, apply and verify member erasures.

Thin on purpose: the work is in `pulse.maintenance`; this turns a DAG run's params into calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulse.maintenance.erasure import apply_erasures, require_erased
from pulse.maintenance.replay import replay_dead_letters
from pulse.runtime import owner_dsn, resolve_endpoints
from pulse.settings import Settings
from pulse.timestamps import parse_moment


def replay(settings: Settings, *, run_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """One `dead_letter_replay` run: params `reason`, `received_from`, `received_until`,
    `dry_run` (all optional)."""
    endpoints = resolve_endpoints(settings)
    report = replay_dead_letters(
        endpoints.pg_dsn,
        endpoints.kafka_bootstrap,
        endpoints.pseudonym_key,
        run_id=run_id,
        events_topic=settings.events_topic,
        dlq_topic=settings.dlq_topic,
        reasons=[params["reason"]] if params.get("reason") else None,
        received_from=_moment(params.get("received_from"), "received_from"),
        received_until=_moment(params.get("received_until"), "received_until"),
        future_tolerance_s=settings.future_tolerance_s,
        dry_run=bool(params.get("dry_run")),
    )
    return report.as_dict()


def erase(settings: Settings, *, run_id: str) -> dict[str, Any]:
    """Apply every pending `member.erased` request to the whole warehouse."""
    return apply_erasures(owner_dsn(settings), run_id=run_id).as_dict()


def verify_erased(settings: Settings) -> None:
    """Raise when a row of an erased member is still anywhere in the warehouse."""
    require_erased(owner_dsn(settings))


def _moment(value: str | None, name: str) -> Any:
    return parse_moment(value, name) if value else None
