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


def _operating_section() -> str:
    text = README.read_text().split("## How to operate", 1)[1]
    return text.split("\n## ", 1)[0]


def test_readme_lists_every_prometheus_metric_the_consumer_exports() -> None:
    """Names as scraped (the _total suffix Prometheus adds to counters), from a live registry."""
    from prometheus_client import generate_latest

    from streaming.metrics import IngestMetrics

    metrics = IngestMetrics("community.events.v1")
    metrics.watch_lag(lambda: {0: 1})
    exposed = {
        line.split()[2]: line.split()[3]
        for line in generate_latest(metrics.registry).decode().splitlines()
        if line.startswith("# TYPE ") and not line.split()[2].endswith("_created")
    }
    section = _operating_section()
    assert len(exposed) >= 10
    for name, kind in exposed.items():
        shown = name if kind != "counter" or name.endswith("_total") else f"{name}_total"
        assert f"| `{shown}` | {kind} |" in section, f"{shown} ({kind}) is not in the README"


def test_readme_says_what_each_status_check_exit_code_means() -> None:
    from pulse.local.status import CHECK_CODES

    section = _operating_section()
    assert "pulse status --json" in section and "pulse status --check" in section
    for code in {0, 2, *CHECK_CODES.values()}:
        assert f"\n| {code} | " in section, f"exit code {code} is not explained"
    for name in ("status_max_lag", "status_max_raw_age_s", "status_timeout_s"):
        assert f"PULSE_{name.upper()}" in section
