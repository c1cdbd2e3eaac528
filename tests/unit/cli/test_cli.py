"""Every command says what it does; usage errors exit 2; a missing service is one line, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pulse.cli import app

runner = CliRunner()
COMMANDS = [
    name
    for info in app.registered_commands
    if (name := info.name or info.callback.__name__.replace("_", "-"))  # type: ignore[union-attr]
]


def test_top_level_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in [*COMMANDS, "db"]:
        assert name in result.output


@pytest.mark.parametrize("command", [*COMMANDS, "db init"])
def test_every_command_has_help_that_says_what_it_does(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    body = result.output.split("Usage:", 1)[1]
    assert len(body.split()) > 8, f"{command} --help says too little"


@pytest.mark.parametrize("command", ["consume", "generate", "status", "run"])
def test_a_wrong_flag_is_a_usage_error(command: str) -> None:
    result = runner.invoke(app, [command, "--no-such-flag"])
    assert result.exit_code == 2


@pytest.mark.parametrize("command", ["status", "consume", "db init", "transform", "report"])
def test_a_stack_that_was_never_started_is_one_clear_line(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_STATE_DIR", str(tmp_path / "none"))
    for name in ("PULSE_PG_DSN", "PULSE_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(app, command.split())
    assert result.exit_code == 1
    assert "run `pulse up`" in " ".join(result.output.split())
    assert "Traceback" not in result.output
