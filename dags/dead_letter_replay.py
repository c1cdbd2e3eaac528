"""
### dead_letter_replay

Manual. Re-validates quarantined messages (`raw.dead_letter_events`, not replayed yet) against
the **current** inbound contract and re-injects the ones that now pass into the inbound topic,
where the consumer stores them like any event. Typical use: a producer sent a value the contract
did not know yet; once the contract accepts it, replay what was rejected.

The originals are read from the DLQ topic by their source position (headers
`pulse.source.topic/partition/offset`) and checked against the stored SHA-256. A re-injected
dead letter is marked `replayed_at` and never replayed again; every outcome (re-injected, still
invalid with today's reason, gone from the DLQ topic, erased member) is recorded in
`quality.dead_letter_replays`.

Params: `reason` (one dead-letter reason, or all), `received_from` / `received_until` (when the
dead letters were received, [from, until)), `dry_run` (report only).
Configuration: `PULSE_*` variables (the pseudonym key is needed), connections `pulse_warehouse`
and `pulse_kafka` if defined.
"""

from __future__ import annotations

from typing import Any

import _common
from airflow.sdk import Param, dag, get_current_context, task

from pulse import orchestration


@dag(
    dag_id="dead_letter_replay",
    schedule=None,
    start_date=_common.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=_common.DEFAULT_ARGS,
    tags=["community-pulse", "dead-letters", "kafka", "manual"],
    doc_md=__doc__,
    params={
        "reason": Param(
            None,
            type=["null", "string"],
            enum=[None, *orchestration.DEAD_LETTER_REASONS],
            description="Only dead letters rejected for this reason (empty: every reason).",
        ),
        "received_from": Param(
            None,
            type=["null", "string"],
            format="date-time",
            description="Only dead letters received at or after this moment.",
        ),
        "received_until": Param(
            None,
            type=["null", "string"],
            format="date-time",
            description="Only dead letters received before this moment.",
        ),
        "dry_run": Param(False, type="boolean", description="Decide and report; change nothing."),
    },
)
def dead_letter_replay() -> None:
    @task
    def replay() -> dict[str, Any]:
        context = get_current_context()
        return orchestration.replay(
            _common.pulse_settings(), run_id=context["run_id"], params=context["params"]
        )

    replay()


dead_letter_replay()
