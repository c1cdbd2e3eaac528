"""`pulse status`: the verdict of --check (which code means what), the JSON of --json, and that a
service that does not answer is reported down within the timeout (no stack needed: closed ports
and a socket that never answers stand in for stopped and frozen services)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulse.cli import app
from pulse.local import status as status_module
from pulse.local.stack import free_port
from pulse.local.status import (
    EXIT_LAG,
    EXIT_OK,
    EXIT_SERVICE_DOWN,
    EXIT_STALE,
    RowCount,
    Service,
    Status,
    Warehouse,
    collect_status,
)
from pulse.settings import Settings

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
runner = CliRunner()


def _warehouse(stored: dict[int, int], ingested_ago_s: float | None = 10.0) -> Warehouse:
    return Warehouse(
        now=NOW,
        stored={p: (offset, 0) for p, offset in stored.items()},
        events=RowCount(rows=1234, exact=True, method="count"),
        newest_ingested_at=None
        if ingested_ago_s is None
        else NOW - timedelta(seconds=ingested_ago_s),
        newest_occurred_at=NOW - timedelta(minutes=5),
        duplicates=3,
        dead_letters=[("invalid_json", 2, 1)],
        gaps=[],
        key_fingerprint="ab" * 32,
        last_run={
            "dag_id": "community_metrics",
            "run_id": "manual__x",
            "status": "success",
            "interval_start": NOW - timedelta(hours=1),
            "interval_end": NOW,
            "started_at": NOW,
            "finished_at": NOW,
            "failed_step": None,
            "error": None,
        },
        last_success=None,
    )


def _status(
    ends: dict[int, int] | None,
    warehouse: Warehouse | None,
    *,
    kafka_up: bool = True,
    pg_up: bool = True,
    max_lag: int = 100,
    max_age_s: float = 600.0,
) -> Status:
    return Status(
        checked_at=NOW,
        topic="community.events.v1",
        consumer_group="pulse-ingest",
        services=[
            Service("postgres", "db:5432/pulse", False, pg_up, None if pg_up else "refused"),
            Service("kafka", "kafka:9092", False, kafka_up, None if kafka_up else "no answer"),
        ],
        max_lag=max_lag,
        max_raw_age_s=max_age_s,
        end_offsets=ends,
        warehouse=warehouse,
        configured_key_fingerprint="ab" * 32,
    )


def test_all_fine_is_exit_0_with_and_without_check() -> None:
    status = _status({0: 10, 1: 20}, _warehouse({0: 10, 1: 18}))
    assert status.total_lag == 2
    assert status.problems() == []
    assert status.exit_code(check=True) == EXIT_OK == status.exit_code(check=False)


def test_a_service_down_is_exit_1_with_and_without_check() -> None:
    status = _status(None, _warehouse({0: 10}), kafka_up=False)
    assert status.total_lag is None, "no lag without the broker's side"
    assert [p.check for p in status.problems()] == ["service_down"]
    assert status.exit_code(check=True) == EXIT_SERVICE_DOWN
    assert status.exit_code(check=False) == EXIT_SERVICE_DOWN
    down = _status({0: 10}, None, pg_up=False)
    assert down.exit_code(check=True) == EXIT_SERVICE_DOWN and not down.stale


def test_lag_over_the_threshold_is_exit_3_only_with_check() -> None:
    status = _status({0: 500, 1: 10}, _warehouse({0: 100, 1: 10}), max_lag=399)
    assert status.total_lag == 400
    assert [p.check for p in status.problems()] == ["lag"]
    assert status.exit_code(check=True) == EXIT_LAG
    assert status.exit_code(check=False) == EXIT_OK
    assert _status({0: 500}, _warehouse({0: 100}), max_lag=400).exit_code(check=True) == EXIT_OK


def test_raw_stale_while_messages_wait_is_exit_4_and_a_quiet_topic_is_never_stale() -> None:
    waiting = _status({0: 11}, _warehouse({0: 10}, ingested_ago_s=601))
    assert waiting.stale and waiting.exit_code(check=True) == EXIT_STALE
    assert "601 s old" in waiting.problems()[0].message
    quiet = _status({0: 10}, _warehouse({0: 10}, ingested_ago_s=86_400))
    assert not quiet.stale and quiet.exit_code(check=True) == EXIT_OK
    empty = _status({0: 5}, _warehouse({}, ingested_ago_s=None))
    assert empty.stale, "messages wait and raw holds nothing"
    recent = _status({0: 11}, _warehouse({0: 10}, ingested_ago_s=30))
    assert not recent.stale


def test_the_lowest_code_wins_when_several_checks_fail() -> None:
    both = _status({0: 1000}, _warehouse({0: 0}, ingested_ago_s=9999), max_lag=10)
    assert [p.check for p in both.problems()] == ["lag", "stale"]
    assert both.exit_code(check=True) == EXIT_LAG


def test_json_carries_services_partitions_freshness_counts_and_the_last_run() -> None:
    status = _status({0: 10, 1: 20}, _warehouse({0: 10, 1: 18}))
    data = json.loads(json.dumps(status.as_dict()))  # JSON as it is, no default= needed
    assert data["ok"] is True and data["check_exit_code"] == 0 and data["problems"] == []
    assert {s["name"]: s["up"] for s in data["services"]} == {"postgres": True, "kafka": True}
    assert data["partitions"] == [
        {"partition": 0, "end_offset": 10, "stored_offset": 10, "epoch": 0, "lag": 0},
        {"partition": 1, "end_offset": 20, "stored_offset": 18, "epoch": 0, "lag": 2},
    ]
    assert data["lag"] == {"total": 2, "max_allowed": 100}
    assert data["raw"]["community_events"] == {"rows": 1234, "exact": True, "method": "count"}
    assert data["raw"]["dead_letters"] == {"invalid_json": {"rows": 2, "not_on_dlq_topic": 1}}
    assert data["freshness"]["raw_age_s"] == 10.0 and data["freshness"]["stale"] is False
    assert data["pseudonym_key"] == {"warehouse_fingerprint": "ab" * 6, "matches_configured": True}
    assert data["last_run"]["status"] == "success"
    assert data["last_run"]["interval_end"] == NOW.isoformat()
    assert data["gaps"] == []

    down = json.loads(json.dumps(_status(None, None, kafka_up=False, pg_up=False).as_dict()))
    assert down["ok"] is False and down["check_exit_code"] == EXIT_SERVICE_DOWN
    assert {s["name"]: s["error"] for s in down["services"]} == {
        "postgres": "refused",
        "kafka": "no answer",
    }
    assert down["raw"] is None and down["lag"]["total"] is None


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def fake_status(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[Status]]:
    monkeypatch.setenv("PULSE_STATE_DIR", str(tmp_path / ".pulse"))
    holder: list[Status] = []
    monkeypatch.setattr(status_module, "collect_status", lambda settings: holder[0])
    yield holder


@pytest.mark.parametrize(
    ("status", "plain", "checked"),
    [
        (_status({0: 10}, _warehouse({0: 10})), 0, 0),
        (_status({0: 10}, None, pg_up=False), 1, 1),
        (_status({0: 500}, _warehouse({0: 0}), max_lag=10), 0, 3),
        (_status({0: 5}, _warehouse({0: 0}, ingested_ago_s=9999)), 0, 4),
    ],
)
def test_the_command_exits_with_the_code_of_the_verdict(
    fake_status: list[Status], status: Status, plain: int, checked: int
) -> None:
    fake_status.append(status)
    assert runner.invoke(app, ["status"]).exit_code == plain
    assert runner.invoke(app, ["status", "--check"]).exit_code == checked
    result = runner.invoke(app, ["status", "--json", "--check"])
    assert result.exit_code == checked
    assert json.loads(result.stdout)["check_exit_code"] == checked


def test_the_help_says_which_code_means_what() -> None:
    text = " ".join(runner.invoke(app, ["status", "--help"]).output.replace("│", " ").split())
    for words in ("--json", "--check", "1 a service is down", "3 ingest lag", "4 raw stale"):
        assert words in text, words


# -- services that do not answer -----------------------------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a frozen broker or server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _external(tmp_path: Path, kafka_port: int, pg_port: int) -> Settings:
    return Settings(
        kafka_bootstrap=f"127.0.0.1:{kafka_port}",
        pg_dsn=f"postgresql://pulse:secret@127.0.0.1:{pg_port}/pulse",
        pseudonym_key="k",
        state_dir=tmp_path / ".pulse",
        status_timeout_s=1.0,
    )


def test_stopped_services_are_reported_down_within_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    status = collect_status(_external(tmp_path, free_port(), free_port()))
    assert time.monotonic() - started < 5
    assert {s.name: s.up for s in status.services} == {"postgres": False, "kafka": False}
    assert all(s.error for s in status.services)
    assert "secret" not in json.dumps(status.as_dict()), "the DSN's password is never shown"
    assert status.exit_code(check=True) == EXIT_SERVICE_DOWN


def test_services_that_accept_and_never_answer_are_reported_down_within_the_timeout(
    tmp_path: Path, silent_port: int
) -> None:
    started = time.monotonic()
    status = collect_status(_external(tmp_path, silent_port, silent_port))
    assert time.monotonic() - started < 5
    assert {s.name: s.up for s in status.services} == {"postgres": False, "kafka": False}


def test_the_command_prints_json_with_the_services_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("PULSE_PG_DSN", f"postgresql://pulse@127.0.0.1:{free_port()}/pulse")
    monkeypatch.setenv("PULSE_PSEUDONYM_KEY", "k")
    monkeypatch.setenv("PULSE_STATE_DIR", str(tmp_path / ".pulse"))
    monkeypatch.setenv("PULSE_STATUS_TIMEOUT_S", "1")
    result = runner.invoke(app, ["status", "--json", "--check"])
    assert result.exit_code == EXIT_SERVICE_DOWN
    data = json.loads(result.stdout)
    assert [s["up"] for s in data["services"]] == [False, False]
    assert [p["check"] for p in data["problems"]] == ["service_down", "service_down"]
