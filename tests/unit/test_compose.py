"""docker-compose.yml describes the production stack; no Docker engine runs here, so its structure
is checked instead: services, pinned images, healthchecks, environment names vs the settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pulse.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
LONG_RUNNING = [
    "kafka",
    "postgres",
    "airflow-db",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "consumer",
]


def test_compose_has_every_service_of_the_production_stack() -> None:
    expected = {
        "kafka",
        "postgres",
        "db-init",
        "topics-init",
        "consumer",
        "generator",
        "airflow-db",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
    }
    assert expected <= set(SERVICES)
    assert SERVICES["generator"].get("profiles") == ["generator"], "the generator is optional"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_compose_images_are_pinned_to_a_version(name: str) -> None:
    service = SERVICES[name]
    if "build" in service:
        assert service["build"]["target"] in {"pulse", "airflow"}
        return
    image = service["image"]
    _, _, tag = image.partition(":")
    assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not pinned"


def test_dockerfile_base_images_are_pinned() -> None:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("FROM "):
            image = line.split()[1]
            assert ":" in image and re.search(r":\S*\d", image), line


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_healthchecks(name: str) -> None:
    check = SERVICES[name].get("healthcheck")
    assert check and check["test"], f"{name} has no healthcheck"


def test_compose_pulse_variables_are_settings_fields() -> None:
    known = {f"PULSE_{field.upper()}" for field in Settings.model_fields}
    for name, service in SERVICES.items():
        environment = service.get("environment") or {}
        for variable in environment:
            if variable.startswith("PULSE_"):
                assert variable in known, f"{name}: {variable} is not a Settings field"


def test_env_example_defines_every_required_variable() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert required, "expected required variables in docker-compose.yml"
    assert required <= example, f"missing from .env.example: {sorted(required - example)}"


def test_services_wait_for_their_dependencies_to_be_healthy_or_done() -> None:
    allowed = {"service_healthy", "service_completed_successfully"}
    for name, service in SERVICES.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            assert condition["condition"] in allowed, f"{name} -> {dependency}"
