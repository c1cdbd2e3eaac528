"""Configuration, read from `PULSE_*` environment variables only.

Entry points (the CLI, the DAGs, the consumer service) build one `Settings` and pass it down;
library code never reads the environment itself.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pulse.paths import EXPECTATIONS_DIR


class Settings(BaseSettings):
    """Every knob of Community Pulse. Unset connection settings mean "use the embedded stack"."""

    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")

    # connections
    kafka_bootstrap: str | None = Field(
        default=None,
        description="Kafka bootstrap servers (host:port[,host:port]). Unset: the embedded broker.",
    )
    pg_dsn: SecretStr | None = Field(
        default=None,
        description="PostgreSQL connection string of the warehouse. Unset: the embedded server.",
    )
    state_dir: Path = Field(
        default=Path(".pulse"),
        description="Folder of the embedded stack (data, logs, ports).",
    )

    # privacy
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description=(
            "HMAC key that turns member ids into member keys. Required with an external "
            "warehouse; the embedded stack keeps a generated one in its state folder."
        ),
    )
    min_group_size: int = Field(
        default=5,
        ge=1,
        description="Community-periods with fewer active members show no member-derived figures.",
    )

    # topics
    events_topic: str = Field(default="community.events.v1", description="Inbound topic.")
    dlq_topic: str = Field(default="community.events.dlq.v1", description="Dead-letter topic.")
    metrics_topic: str = Field(default="community.metrics.v1", description="Outbound metrics.")
    alerts_topic: str = Field(default="community.alerts.v1", description="Outbound alerts.")
    events_partitions: int = Field(
        default=6, ge=1, description="Partitions of the inbound topic when `pulse up` creates it."
    )

    # ingest
    consumer_group: str = Field(default="pulse-ingest", description="Consumer group of ingest.")
    batch_max_events: int = Field(
        default=5000, ge=1, description="A batch is written when it holds this many messages..."
    )
    batch_max_age_ms: int = Field(
        default=1000, ge=1, description="...or when its oldest message is this old."
    )
    future_tolerance_s: int = Field(
        default=300, ge=0, description="How far ahead of ingest time occurred_at may be."
    )

    # quality gates and blue/green publishing
    gx_project_dir: Path = Field(
        default=EXPECTATIONS_DIR,
        description="Folder of the Great Expectations project; run output goes to gx/uncommitted/.",
    )
    gate_volume_history_intervals: int = Field(
        default=7, ge=1, description="Previous intervals of the same length the volume check uses."
    )
    gate_volume_band_low: float = Field(
        default=0.1,
        gt=0,
        description="Lowest allowed ratio of an interval's events to the trailing average.",
    )
    gate_volume_band_high: float = Field(
        default=10.0,
        gt=1,
        description="Highest allowed ratio of an interval's events to the trailing average.",
    )
    gate_dead_letter_max_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Highest dead-letter share of what arrived in the interval.",
    )
    keep_builds: int = Field(
        default=2, ge=1, description="Promoted build schemas kept (the live one included)."
    )

    # orchestration (community_metrics)
    freshness_max_lag: int = Field(
        default=1000,
        ge=0,
        description=(
            "Messages ingest may be behind the topic end for an interval to count as fresh."
        ),
    )
    freshness_poke_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often the freshness check looks again (read when the DAG file is parsed).",
    )
    freshness_timeout_s: float = Field(
        default=1800.0,
        ge=0,
        description=(
            "How long a run waits for fresh ingest before failing (read when the DAG "
            "file is parsed)."
        ),
    )
    pipeline_dbt_unit_tests: bool = Field(
        default=False,
        description=(
            "Also run dbt unit tests in orchestrated runs (CI and `pulse transform` always do)."
        ),
    )

    # alerts (community.alerts.v1)
    alert_negative_share_min: float = Field(
        default=0.35,
        ge=0,
        le=1,
        description="Lowest negative share of a day that can count as a sentiment spike.",
    )
    alert_negative_spike_delta: float = Field(
        default=0.15,
        ge=0,
        le=1,
        description="How far above its baseline the negative share must be.",
    )
    alert_engagement_drop_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description=(
            "Drop in engagements per post, relative to the baseline, that alerts "
            "(complete days only)."
        ),
    )
    alert_brand_voice_max: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Highest acceptable brand and moderator share of posts and comments.",
    )
    alert_idea_unanswered_days: float = Field(
        default=7.0, gt=0, description="Days an idea may wait for a first response."
    )
    alert_baseline_days: int = Field(
        default=7, ge=1, description="Days before the observed one that make up the baseline."
    )
    alert_min_baseline_days: int = Field(
        default=3, ge=1, description="Days of history a baseline needs."
    )
    alert_min_items: int = Field(
        default=10,
        ge=1,
        description="Posts plus comments a day needs before its ratios are judged.",
    )
    alert_critical_factor: float = Field(
        default=1.5,
        gt=1,
        description=(
            "How many times past the threshold makes an alert critical rather than a warning."
        ),
    )
