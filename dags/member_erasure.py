"""
### member_erasure

Daily. Applies `member.erased` requests (the privacy contract: docs/contracts.md) across the
whole warehouse: every row carrying an erased member's key is deleted from raw, the dbt schemas
(staging, intermediate) and the build schemas behind the BI views, and quoted keys in
`quality.*` are replaced. Events of a member erased earlier that arrive late are caught by the
next run (the erasure keeps the SHA-256 of the key, never the key).

1. **apply_erasures**: one transaction, under the warehouse's rebuild lock (it waits for a dbt
   build in progress); what was deleted, table by table, goes to `quality.erasure_runs`;
2. **verify_erasures**: scans every table with a `member_key` column and fails if a row of an
   erased member is left.

The connection must be the warehouse owner's (it deletes from raw and from the dbt schemas).
Kafka topics keep the original messages until their retention expires.
Configuration: `PULSE_*` variables, connection `pulse_warehouse` if defined.
"""

from __future__ import annotations

from typing import Any

import _common
from airflow.sdk import dag, get_current_context, task

from pulse import orchestration


@dag(
    dag_id="member_erasure",
    schedule="@daily",
    start_date=_common.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=_common.DEFAULT_ARGS,
    tags=["community-pulse", "privacy", "erasure"],
    doc_md=__doc__,
)
def member_erasure() -> None:
    @task
    def apply_erasures() -> dict[str, Any]:
        return orchestration.erase(_common.pulse_settings(), run_id=get_current_context()["run_id"])

    @task
    def verify_erasures() -> None:
        orchestration.verify_erased(_common.pulse_settings())

    apply_erasures() >> verify_erasures()


member_erasure()
