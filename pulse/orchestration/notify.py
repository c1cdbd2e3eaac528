"""Failure notifications: a task of a pipeline DAG failed for good, tell someone.

When `PULSE_FAILURE_WEBHOOK_URL` is set, the DAGs' failure callback POSTs one JSON object to it
(Slack- and Teams-style incoming webhooks, or any HTTP endpoint). A notification that cannot be
delivered is logged, never raised: the task has failed already, and its own error is the one
that matters.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Mapping
from typing import Any

from pulse.settings import Settings

logger = logging.getLogger(__name__)

TIMEOUT_S = 10


def failure_message(context: Mapping[str, Any]) -> dict[str, Any]:
    """The notification's body, from an Airflow task context (no secrets, no member data)."""
    ti = context.get("ti") or context.get("task_instance")
    error = context.get("exception")
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None)
    task_id = getattr(ti, "task_id", None)
    run_id = context.get("run_id") or getattr(ti, "run_id", None)
    text = f"community pulse: {dag_id}.{task_id} failed in {run_id}"
    if error is not None:
        first = str(error).strip().splitlines()[:1]
        text += f": {first[0][:300] if first else type(error).__name__}"
    return {
        "text": text,
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": run_id,
        "try_number": getattr(ti, "try_number", None),
        "error": None if error is None else type(error).__name__,
    }


def notify_failure(settings: Settings, context: Mapping[str, Any]) -> bool:
    """POST the failure to the webhook, if one is configured; True when it was delivered."""
    url = settings.failure_webhook_url
    if url is None:
        return False
    target = url.get_secret_value()
    if not target.startswith(("https://", "http://")):
        logger.warning("PULSE_FAILURE_WEBHOOK_URL must be an http(s) URL; not notifying")
        return False
    body = json.dumps(failure_message(context)).encode()
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        target,
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            delivered = 200 <= response.status < 300
    except OSError as error:
        logger.warning("could not deliver the failure notification: %s", error)
        return False
    if not delivered:
        logger.warning("the failure webhook answered HTTP %s", response.status)
    return delivered
