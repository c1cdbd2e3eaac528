"""docker-compose.yml describes the production stack; no Docker engine runs here, so its structure
is checked instead: services, pinned images, healthchecks, environment names vs the settings, the
`celery` profile and replicas (after Compose's variable interpolation, done here), and that the
images install what the lock pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from pulse.settings import Settings
from pulse.warehouse.names import ROLES

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
    "redis",
    "airflow-worker",
]
# What `.env` holds at the least: a value for every required (${VAR:?...}) variable.
REQUIRED_ENV = {
    name: f"{name.lower()}-value"
    for name in re.findall(r"\$\{([A-Z0-9_]+):\?", (ROOT / "docker-compose.yml").read_text())
}
CELERY_ENV = {**REQUIRED_ENV, "AIRFLOW_EXECUTOR": "CeleryExecutor"}
_VARIABLE = re.compile(r"\$\$|\$\{([A-Z0-9_]+)(?:(:?[-?+])([^}]*))?\}|\$([A-Z0-9_]+)")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's interpolation of every string value: ${VAR}, ${VAR:-default}, ${VAR-default},
    ${VAR:?error}, ${VAR?error}, ${VAR:+other}, $VAR and $$ (a literal $)."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, word = match.group(2), match.group(3) or ""
        found = env.get(name)
        unset = found is None or (found == "" and operator is not None and ":" in operator)
        if operator in (":-", "-"):
            return word if unset else str(found)
        if operator in (":?", "?"):
            if unset:
                raise AssertionError(f"{name} is required: {word}")
            return str(found)
        if operator in (":+", "+"):
            return "" if unset else word
        return found or ""

    return _VARIABLE.sub(replace, value)


def enabled_services(env: dict[str, str], profiles: set[str]) -> dict[str, Any]:
    """The services `docker compose --profile ... up` starts with `env` as .env, interpolated."""
    services = interpolate(SERVICES, env)
    return {
        name: service
        for name, service in services.items()
        if not service.get("profiles") or profiles & set(service["profiles"])
    }


def airflow_services(services: dict[str, Any]) -> dict[str, Any]:
    return {
        name: service
        for name, service in services.items()
        if (service.get("build") or {}).get("target") == "airflow"
    }


def replicas(service: dict[str, Any]) -> int:
    return int((service.get("deploy") or {}).get("replicas", 1))


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
        "redis",
        "airflow-worker",
    }
    assert expected <= set(SERVICES)
    assert SERVICES["generator"].get("profiles") == ["generator"], "the generator is optional"
    for name in ("redis", "airflow-worker"):
        assert SERVICES[name].get("profiles") == ["celery"], f"{name} belongs to profile celery"


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
    # `pulse db init` reads the role passwords itself (pulse/cli/warehouse.py), not Settings.
    known |= {f"PULSE_{role.removeprefix('pulse_').upper()}_PASSWORD" for role in ROLES}
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


def test_env_example_lists_every_variable_the_compose_file_reads() -> None:
    """Every ${VAR} of the file (not $${VAR}: the container's shell expands those) has a line in
    .env.example, so every password and port a deployment may set is in one place."""
    text = (ROOT / "docker-compose.yml").read_text()
    read = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert {"PULSE_BI_PASSWORD", "PULSE_PG_PUBLISHED_PORT", "POSTGRES_PASSWORD"} <= read
    assert read <= set(example), f"missing from .env.example: {sorted(read - set(example))}"
    for name in read:
        if name.endswith(("PASSWORD", "PORT", "SECRET", "KEY")):
            assert example[name], f"{name} has no value in .env.example"
    # Where the file has a default, .env.example shows that same default.
    for name, default in re.findall(r"(?<!\$)\$\{([A-Z0-9_]+):-([^}]*)\}", text):
        assert example[name] == default, f"{name}: .env.example {example[name]}, compose {default}"


def _published(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(host address, host port, container port) of each short-syntax `ports` entry ("*": every
    address of the host, "": an ephemeral host port)."""
    found = []
    for entry in service.get("ports") or []:
        parts = ["*", "", *str(entry).split(":")][-3:]
        if parts[0] == "":
            parts[0] = "*"
        found.append((parts[0], parts[1], parts[2]))
    return found


def test_kafka_advertises_a_host_listener_on_localhost_29092() -> None:
    """README, "Read the outbound topics": clients on the host bootstrap from localhost:29092
    and are told to stay there; services on the compose network keep kafka:9092."""
    kafka = enabled_services(REQUIRED_ENV, set())["kafka"]
    env = kafka["environment"]

    def listeners(value: str) -> dict[str, str]:
        return dict(item.split("://", 1) for item in value.split(","))

    bound, advertised = (
        listeners(env["KAFKA_LISTENERS"]),
        listeners(env["KAFKA_ADVERTISED_LISTENERS"]),
    )
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    host = next(name for name, where in advertised.items() if where == "localhost:29092")
    assert bound[host] == ":29092" and protocols[host] == "PLAINTEXT"
    internal = SERVICES["consumer"]["environment"]["PULSE_KAFKA_BOOTSTRAP"]
    assert internal == "kafka:9092"
    network = next(name for name, where in advertised.items() if where == internal)
    assert network != host and bound[network] == ":9092"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == network
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] not in advertised
    assert (
        set(advertised) | {env["KAFKA_CONTROLLER_LISTENER_NAMES"]} == set(bound) == set(protocols)
    )
    # Published on the host's loopback only: it advertises localhost.
    assert _published(kafka) == [("127.0.0.1", "29092", "29092")]
    readme = (ROOT / "README.md").read_text()
    assert 'bootstrap_servers="localhost:29092"' in readme


def test_postgres_is_published_on_the_port_the_readme_names() -> None:
    raw = SERVICES["postgres"]["ports"]
    assert any("${PULSE_PG_PUBLISHED_PORT:-5432}:5432" in str(p) for p in raw), raw
    default = enabled_services(REQUIRED_ENV, set())["postgres"]
    assert _published(default) == [("127.0.0.1", "5432", "5432")]
    moved = enabled_services({**REQUIRED_ENV, "PULSE_PG_PUBLISHED_PORT": "6543"}, set())
    assert _published(moved["postgres"]) == [("127.0.0.1", "6543", "5432")]
    section = (ROOT / "README.md").read_text().split("## Connect a BI tool", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert "${PULSE_PG_PUBLISHED_PORT:-5432}" in section and "PULSE_BI_PASSWORD" in section


def test_db_init_sets_every_role_password_from_env() -> None:
    environment = enabled_services(REQUIRED_ENV, set())["db-init"]["environment"]
    for role in ("INGEST", "TRANSFORM", "OWNER", "BI"):
        name = f"PULSE_{role}_PASSWORD"
        assert environment[name] == REQUIRED_ENV[name]
    # the one service that logs in as the superuser, to create the roles
    assert environment["PULSE_PG_DSN"].startswith("postgresql://postgres:")


def _login(dsn: str) -> tuple[str, str]:
    """(user, password) of a postgresql:// URI."""
    user, password = dsn.removeprefix("postgresql://").split("@", 1)[0].split(":", 1)
    return user, password


@pytest.mark.parametrize("profiles", [set(), {"celery", "generator"}])
def test_every_service_but_db_init_logs_in_as_its_own_role(profiles: set[str]) -> None:
    """No pipeline service holds the superuser's password: each logs in as its role, with the
    password db-init set for it (least privilege is the login, not a SET ROLE)."""
    expected = {
        "consumer": {"PULSE_PG_DSN": "pulse_ingest"},
        "topics-init": {"PULSE_PG_DSN": "pulse_ingest"},
        "generator": {"PULSE_PG_DSN": "pulse_ingest"},
        "airflow-scheduler": {
            "PULSE_PG_DSN": "pulse_transform",
            "PULSE_OWNER_PG_DSN": "pulse_owner",
        },
    }
    env = CELERY_ENV if "celery" in profiles else REQUIRED_ENV
    services = enabled_services(env, profiles)
    for name, service in services.items():
        environment = service.get("environment") or {}
        if name in {"db-init", "postgres"}:  # the server itself, and who creates the roles
            continue
        assert REQUIRED_ENV["POSTGRES_PASSWORD"] not in str(environment), name
        for variable in ("PULSE_PG_DSN", "PULSE_OWNER_PG_DSN"):
            if variable not in environment:
                continue
            user, password = _login(environment[variable])
            assert user in {"pulse_ingest", "pulse_transform", "pulse_owner"}, (name, user)
            assert password == REQUIRED_ENV[f"{user.upper()}_PASSWORD"], (name, variable)
    for name, logins in expected.items():
        if name not in services:
            continue
        for variable, user in logins.items():
            assert _login(services[name]["environment"][variable])[0] == user, (name, variable)
    airflow = [name for name in services if name.startswith("airflow-") and name != "airflow-db"]
    assert airflow
    for name in airflow:
        environment = services[name]["environment"]
        assert _login(environment["PULSE_PG_DSN"])[0] == "pulse_transform", name
        assert _login(environment["PULSE_OWNER_PG_DSN"])[0] == "pulse_owner", name


def test_healthchecks_that_use_pulse_status_use_its_check_mode() -> None:
    """`pulse status` alone exits 0 on lag and stale raw; only --check fails on them."""
    consumer = SERVICES["consumer"]["healthcheck"]["test"]
    assert "pulse status --check" in " ".join(consumer)
    for name, service in SERVICES.items():
        test = " ".join((service.get("healthcheck") or {}).get("test") or [])
        if "pulse status" in test:
            assert "pulse status --check" in test, f"{name}: {test}"
            assert "--json" not in test, f"{name}: the exit code is the verdict"


def test_services_wait_for_their_dependencies_to_be_healthy_or_done() -> None:
    allowed = {"service_healthy", "service_completed_successfully"}
    for name, service in SERVICES.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            assert condition["condition"] in allowed, f"{name} -> {dependency}"


def test_default_stack_runs_airflow_with_the_local_executor_and_nothing_of_celery() -> None:
    services = enabled_services(REQUIRED_ENV, set())
    assert "redis" not in services and "airflow-worker" not in services
    airflow = airflow_services(services)
    assert set(airflow) == {
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
    }
    for name, service in airflow.items():
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        assert "redis" not in (service.get("depends_on") or {}), name


def test_celery_profile_runs_every_airflow_service_with_the_celery_executor() -> None:
    services = enabled_services(CELERY_ENV, {"celery"})
    assert "redis" in services
    airflow = airflow_services(services)
    assert {"airflow-scheduler", "airflow-apiserver", "airflow-dag-processor"} < set(airflow)
    assert "airflow-worker" in airflow
    for name, service in airflow.items():
        environment = service["environment"]
        assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        # The broker is the profile's Redis; results go to Airflow's own metadata database.
        assert re.fullmatch(r"redis://redis:6379/\d+", environment["AIRFLOW__CELERY__BROKER_URL"])
        metadata = environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        backend = environment["AIRFLOW__CELERY__RESULT_BACKEND"]
        assert backend.startswith("db+postgresql://"), name
        assert backend.split("://", 1)[1] == metadata.split("://", 1)[1], name
        assert backend.split("@", 1)[1].startswith("airflow-db:"), name
    # Without AIRFLOW_EXECUTOR the worker alone is Celery's (and idles): the profile needs both.
    half = airflow_services(enabled_services(REQUIRED_ENV, {"celery"}))
    assert half["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_celery_workers_are_two_interchangeable_replicas() -> None:
    worker = enabled_services(CELERY_ENV, {"celery"})["airflow-worker"]
    assert replicas(worker) == 2
    assert worker["command"] == ["celery", "worker"]
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["depends_on"]["airflow-db"]["condition"] == "service_healthy"
    assert worker["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert "container_name" not in worker and "ports" not in worker and "hostname" not in worker
    # $$ in the file: the container's shell expands it, so each replica pings itself.
    assert 'celery@${HOSTNAME}"' in worker["healthcheck"]["test"][1]
    # Same image and settings as the scheduler: any task can run on any worker.
    scheduler = enabled_services(CELERY_ENV, {"celery"})["airflow-scheduler"]
    assert worker["build"] == scheduler["build"]
    assert worker["environment"] == scheduler["environment"] | {"DUMB_INIT_SETSID": "0"}


def test_no_airflow_service_shares_a_disk() -> None:
    """The DAGs and both projects are in the image; no task reads a file another task wrote
    (docs/scale-out.md), so no Airflow service mounts a volume another one could see."""
    for profiles in (set(), {"celery"}):
        for name, service in airflow_services(enabled_services(CELERY_ENV, profiles)).items():
            assert not service.get("volumes"), f"{name} mounts {service['volumes']}"


def test_consumer_scales_with_replicas_and_nothing_fixed_prevents_it() -> None:
    assert replicas(enabled_services(REQUIRED_ENV, set())["consumer"]) == 1
    scaled = enabled_services({**REQUIRED_ENV, "PULSE_CONSUMER_REPLICAS": "4"}, set())
    assert replicas(scaled["consumer"]) == 4
    assert SERVICES["consumer"]["deploy"]["replicas"] == "${PULSE_CONSUMER_REPLICAS:-1}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_replicated_services_have_no_fixed_name_or_host_port(name: str) -> None:
    service = SERVICES[name]
    if replicas(interpolate(service, {**CELERY_ENV, "PULSE_CONSUMER_REPLICAS": "2"})) == 1:
        return
    assert "container_name" not in service, name
    for port in service.get("ports") or []:
        # "8080" (an ephemeral host port) is fine; "8080:8080" collides at the second replica.
        assert ":" not in str(port), f"{name} publishes {port} on a fixed host port"


def test_airflow_image_installs_the_celery_extra_from_the_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    airflow_stage = dockerfile.split(" AS airflow", 1)[1]
    install = next(line for line in airflow_stage.splitlines() if "pip install" in line)
    assert "-c /opt/pulse/constraints.txt" in install
    assert '"/opt/pulse[pipeline,celery]"' in install


def test_every_requirement_of_the_package_is_pinned_by_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {
        re.sub(r"[-_.]+", "-", match.group(1)).lower(): match.group(2)
        for match in re.finditer(
            r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", (ROOT / "constraints.txt").read_text(), re.M
        )
    }
    extras = project["optional-dependencies"]
    assert "apache-airflow-providers-celery" in " ".join(extras["celery"])
    for group, requirements in {"core": project["dependencies"], **extras}.items():
        for line in requirements:
            requirement = Requirement(line)
            name = re.sub(r"[-_.]+", "-", requirement.name).lower()
            assert name in pins, f"{group}: {requirement.name} is not in constraints.txt"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"{group}: {line} does not admit the lock's {name}=={pins[name]}"
            )
    # The CeleryExecutor needs the Redis transport: the client comes with the extra.
    assert {"celery", "kombu", "redis"} <= set(pins)
