"""README.md lists every setting, as generated from the settings class."""

from __future__ import annotations

from pathlib import Path

from pulse.docs import render_readme
from pulse.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_reference_is_up_to_date() -> None:
    text = README.read_text()
    assert render_readme(text) == text, "run `pulse docs --write` to refresh README.md"


def test_readme_names_every_pulse_variable() -> None:
    text = README.read_text()
    for name in Settings.model_fields:
        assert f"PULSE_{name.upper()}" in text
