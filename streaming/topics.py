"""Topic creation and checks. Tansu auto-creates topics on first produce with its own partition
count, so every topic the pipeline uses is created explicitly, before anything produces to it,
with the partitions, replication and configs of the settings."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    """How a topic is created: partitions, replication factor and topic configs."""

    partitions: int
    replication_factor: int = 1
    configs: dict[str, str] = field(default_factory=dict)


def _spec(value: int | TopicSpec) -> TopicSpec:
    return value if isinstance(value, TopicSpec) else TopicSpec(partitions=value)


def ensure_topics(
    bootstrap: str, specs: Mapping[str, int | TopicSpec], *, bootstrap_timeout_ms: int = 30_000
) -> list[str]:
    """Create the topics that do not exist yet; report how existing ones differ.

    Args:
        bootstrap: Kafka bootstrap servers.
        specs: topic name -> its spec (or just its partition count).
        bootstrap_timeout_ms: how long to wait for a first answer from the broker.

    Returns:
        The names created. Existing topics are never altered; each difference from the spec is
        logged as a warning (and shown by `pulse status`).
    """
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="pulse-admin",
        bootstrap_timeout_ms=bootstrap_timeout_ms,
    )
    try:
        existing = set(admin.list_topics())
        wanted = {name: _spec(value) for name, value in specs.items()}
        missing = [
            NewTopic(
                name=name,
                num_partitions=spec.partitions,
                replication_factor=spec.replication_factor,
                topic_configs=dict(spec.configs),
            )
            for name, spec in wanted.items()
            if name not in existing
        ]
        if missing:
            # Another process may win the race to create a topic: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
        present = {name: spec for name, spec in wanted.items() if name in existing}
        for mismatch in _mismatches(admin, present):
            logger.warning("topic differs from the settings: %s", mismatch)
        return [topic.name for topic in missing]
    finally:
        admin.close()


def topic_mismatches(bootstrap: str, specs: Mapping[str, int | TopicSpec]) -> list[str]:
    """How the existing topics differ from their specs, one line each (missing topics too)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="pulse-status")
    try:
        existing = set(admin.list_topics())
        wanted = {name: _spec(value) for name, value in specs.items()}
        missing = [f"{name}: does not exist" for name in wanted if name not in existing]
        present = {name: spec for name, spec in wanted.items() if name in existing}
        return missing + _mismatches(admin, present)
    finally:
        admin.close()


def _mismatches(admin: KafkaAdminClient, specs: Mapping[str, TopicSpec]) -> list[str]:
    if not specs:
        return []
    found: list[str] = []
    for topic in admin.describe_topics(list(specs)):
        name, spec = topic["name"], specs[topic["name"]]
        partitions = topic.get("partitions") or []
        if len(partitions) != spec.partitions:
            found.append(
                f"{name}: {len(partitions)} partitions, the settings say {spec.partitions}"
            )
        replicas = min((len(p.get("replica_nodes") or []) for p in partitions), default=0)
        if partitions and replicas != spec.replication_factor:
            found.append(
                f"{name}: replication factor {replicas}, the settings say {spec.replication_factor}"
            )
    found += _config_mismatches(admin, specs)
    return found


def _config_mismatches(admin: KafkaAdminClient, specs: Mapping[str, TopicSpec]) -> list[str]:
    """Configs that differ. A broker that describes no configs at all (the embedded one) is
    skipped: nothing can be compared."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in specs]
    try:
        described = admin.describe_configs(resources, config_filter="all")
    except (KafkaError, TypeError, ValueError) as error:
        logger.debug("topic configs not described: %s", error)
        return []
    found = []
    actual_by_topic = (described or {}).get("topic", {}) if isinstance(described, dict) else {}
    for name, spec in specs.items():
        actual = actual_by_topic.get(name) or {}
        if not actual:
            continue
        for key, value in spec.configs.items():
            seen = actual.get(key)
            seen = seen.get("value") if isinstance(seen, dict) else seen
            if seen is not None and str(seen) != value:
                found.append(f"{name}: {key} is {seen}, the settings say {value}")
    return found


def pipeline_topics(settings: object) -> dict[str, TopicSpec]:
    """The pipeline's topics and how to create them, from settings."""
    s = settings
    replication = s.topic_replication_factor  # type: ignore[attr-defined]
    events_configs = {
        "retention.ms": str(s.events_retention_ms),  # type: ignore[attr-defined]
        "max.message.bytes": str(s.events_max_message_bytes),  # type: ignore[attr-defined]
    }
    dlq_configs = {
        "retention.ms": str(s.dlq_retention_ms),  # type: ignore[attr-defined]
        "max.message.bytes": str(s.dlq_max_message_bytes),  # type: ignore[attr-defined]
    }
    partitions = s.events_partitions  # type: ignore[attr-defined]
    return {
        s.events_topic: TopicSpec(partitions, replication, events_configs),  # type: ignore[attr-defined]
        s.dlq_topic: TopicSpec(s.dlq_partitions, replication, dlq_configs),  # type: ignore[attr-defined]
        s.metrics_topic: TopicSpec(partitions, replication),  # type: ignore[attr-defined]
        s.alerts_topic: TopicSpec(1, replication),  # type: ignore[attr-defined]
        s.incidents_topic: TopicSpec(1, replication),  # type: ignore[attr-defined]
    }
