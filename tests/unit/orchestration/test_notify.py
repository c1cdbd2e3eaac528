"""Failure notifications reach a real HTTP endpoint, say what failed, and never raise."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace
from typing import ClassVar

import pytest

from pulse.orchestration.notify import failure_message, notify_failure
from pulse.settings import Settings


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    _Receiver.received = []
    _Receiver.status = 200
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def context(error: Exception | None = None) -> dict[str, object]:
    ti = SimpleNamespace(
        dag_id="community_metrics", task_id="marts_gate", run_id="r1", try_number=3
    )
    return {"ti": ti, "run_id": "r1", "exception": error}


def test_a_failed_task_is_posted_to_the_webhook(webhook: str) -> None:
    delivered = notify_failure(
        Settings(failure_webhook_url=webhook), context(RuntimeError("marts gate failed\nmore"))
    )
    assert delivered
    (body,) = _Receiver.received
    assert body["dag_id"] == "community_metrics" and body["task_id"] == "marts_gate"
    assert body["run_id"] == "r1" and body["try_number"] == 3 and body["error"] == "RuntimeError"
    assert (
        body["text"]
        == "community pulse: community_metrics.marts_gate failed in r1: marts gate failed"
    )


def test_no_webhook_configured_sends_nothing() -> None:
    assert notify_failure(Settings(), context()) is False


def test_an_unreachable_or_refusing_webhook_is_logged_not_raised(webhook: str) -> None:
    _Receiver.status = 500
    assert notify_failure(Settings(failure_webhook_url=webhook), context()) is False
    assert (
        notify_failure(Settings(failure_webhook_url="http://127.0.0.1:9/none"), context()) is False
    )
    assert notify_failure(Settings(failure_webhook_url="file:///etc/passwd"), context()) is False


def test_the_message_carries_no_more_than_the_first_line_of_the_error() -> None:
    body = failure_message(context(ValueError("x" * 1000 + "\nsecond line")))
    assert "second line" not in body["text"] and len(str(body["text"])) < 400
