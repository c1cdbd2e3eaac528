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
    owner_pg_dsn: SecretStr | None = Field(
        default=None,
        description=(
            "Connection string of the login that changes what BI sees: promotes builds into "
            "`marts` and applies member erasures (role pulse_owner). Unset: PULSE_PG_DSN's login "
            "acts as pulse_owner, which it may only if it is a member (a superuser is)."
        ),
    )
    state_dir: Path = Field(
        default=Path(".pulse"),
        description="Folder of the embedded stack (data, logs, ports).",
    )
    embedded_pg_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description=(
            "Port of the embedded PostgreSQL on 127.0.0.1 (e.g. for a BI tool). Unset: a free "
            "port chosen at the first `pulse up` and kept."
        ),
    )
    embedded_kafka_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the embedded broker on 127.0.0.1. Unset: chosen once and kept.",
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
    topic_replication_factor: int = Field(
        default=1,
        ge=1,
        description="Replication factor of the topics the pipeline creates (3 on a real cluster).",
    )
    events_retention_ms: int = Field(
        default=14 * 24 * 3600 * 1000,
        ge=-1,
        description=(
            "Retention of the inbound topic when created: how far back ingest can be re-run "
            "(-1: forever)."
        ),
    )
    events_max_message_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description=(
            "Largest message the inbound topic accepts; values over 1 MiB must still arrive to "
            "become `oversized` dead letters."
        ),
    )
    dlq_partitions: int = Field(default=1, ge=1, description="Partitions of the dead-letter topic.")
    dlq_retention_ms: int = Field(
        default=7 * 24 * 3600 * 1000,
        ge=1,
        description=(
            "Retention of the dead-letter topic, which holds the original bytes of rejected "
            "messages (member ids included): keep it short."
        ),
    )
    dlq_max_message_bytes: int = Field(
        default=5 * 1024 * 1024,
        ge=1024,
        description=(
            "Largest dead letter the DLQ topic takes (an inbound message plus the pulse.* "
            "headers); a bigger one stays in Postgres only, marked unpublished."
        ),
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
    dlq_publish_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description=(
            "How long a batch's dead letters are retried against an unreachable DLQ topic "
            "before they are kept in Postgres only, marked unpublished."
        ),
    )
    ingest_statement_timeout_ms: int = Field(
        default=60_000,
        ge=1,
        description="statement_timeout of every ingest session: a hung statement is retried.",
    )
    ingest_lock_timeout_ms: int = Field(
        default=10_000,
        ge=1,
        description="lock_timeout of every ingest session: a lock held elsewhere is retried.",
    )
    kafka_request_timeout_ms: int = Field(
        default=30_000,
        ge=7_000,
        description=(
            "How long the consumer waits for a broker's answer before it retries "
            "(more than the 6 s session timeout)."
        ),
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description=(
            "Port of the consumer's Prometheus endpoint (/metrics). Unset: no endpoint. With "
            "`pulse consume --processes N`, process i listens on this port + i."
        ),
    )
    metrics_host: str = Field(
        default="0.0.0.0",  # noqa: S104 - scraped from outside the consumer's host or container
        description="Address the consumer's Prometheus endpoint listens on.",
    )

    # operations (`pulse status --check`)
    status_max_lag: int = Field(
        default=100_000,
        ge=0,
        description=(
            "Messages ingest may be behind the inbound topic's end (all partitions together) "
            "before `pulse status --check` fails (exit 3)."
        ),
    )
    status_max_raw_age_s: float = Field(
        default=900.0,
        gt=0,
        description=(
            "How long ago the newest row of raw may have been ingested while messages wait on "
            "the inbound topic before `pulse status --check` fails (exit 4); a quiet topic "
            "(nothing waiting) is never stale."
        ),
    )
    status_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description=(
            "How long `pulse status` waits for Kafka and for PostgreSQL (checked side by side) "
            "before it reports the service down."
        ),
    )

    # quality gates and blue/green publishing
    gx_project_dir: Path = Field(
        default=EXPECTATIONS_DIR,
        description="Folder of the Great Expectations project; run output goes to gx/uncommitted/.",
    )
    data_docs_dir: Path | None = Field(
        default=None,
        description=(
            "Shared folder (a volume every Airflow worker mounts) the gates copy their Data Docs "
            "to; the stored links point there. Unset: they stay in the project's gx/uncommitted/ "
            "on the worker that ran the gate."
        ),
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
    failure_webhook_url: SecretStr | None = Field(
        default=None,
        description=(
            "URL the DAGs POST a JSON notice to when a task fails for good (Slack/Teams-style "
            "incoming webhook, or any endpoint). Unset: no notification."
        ),
    )
    pipeline_dbt_unit_tests: bool = Field(
        default=False,
        description=(
            "Also run dbt unit tests in orchestrated runs (CI and `pulse transform` always do)."
        ),
    )
    pipeline_schedule: str = Field(
        default="0 * * * *",
        min_length=9,
        description=(
            "Cron schedule of community_metrics, UTC (read when the DAG file is parsed); a run "
            "processes everything that arrived since the last validated one, so any period works "
            "(`*/5 * * * *` for every 5 minutes)."
        ),
    )
    pipeline_arrival_margin_s: float = Field(
        default=300.0,
        ge=0,
        description=(
            "How far back before the last validated build's arrival watermark a run reads raw "
            "again: an ingest batch may commit after a later one started (its ingested_at is "
            "its start), so this must stay well above the longest ingest transaction; the "
            "overlap is processed again, idempotently."
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
    alerts_enabled: bool = Field(
        default=True,
        description=(
            "Also publish community.alerts.v1, one alert per community-day a condition holds "
            "(deprecated: superseded by community.incidents.v1; the default turns off in the "
            "next release, and the topic goes in the one after)."
        ),
    )

    # incidents (fct_alert_incidents, community.incidents.v1; the rule is stated in
    # dbt_project/models/marts/incidents/_incidents__models.yml). They also use
    # alert_baseline_days, alert_min_baseline_days and alert_idea_unanswered_days.
    incidents_topic: str = Field(
        default="community.incidents.v1",
        description="Outbound incidents: opened, escalated, resolved.",
    )
    incident_significance: float = Field(
        default=0.001,
        gt=0,
        lt=0.5,
        description=(
            "One-sided significance level a day's shift from the community's own baseline must "
            "reach to count (per community, type and day, so keep it small)."
        ),
    )
    incident_min_count: int = Field(
        default=5,
        ge=1,
        description=(
            "Fewest counted items (negative items, brand posts; for a drop, the engagements "
            "the baseline predicts) a window needs before it can hold."
        ),
    )
    incident_min_effect: float = Field(
        default=0.25,
        ge=0,
        lt=1,
        description=(
            "Smallest relative shift that counts: a share at least 1 + this times the "
            "baseline's, a rate at most 1 - this times it."
        ),
    )
    incident_window_days: int = Field(
        default=2,
        ge=1,
        le=30,
        description="Days (the judged one and those before it) whose counts are pooled.",
    )
    incident_resolve_after_days: int = Field(
        default=3,
        ge=1,
        description="Complete days in a row without the condition that resolve an incident.",
    )
    incident_min_days_held: int = Field(
        default=2,
        ge=1,
        le=30,
        description=(
            "Held days that confirm an incident (it opens, dated from the first, once the "
            "condition held on this many): one barely significant window is most often chance."
        ),
    )
    incident_critical_ratio: float = Field(
        default=2.0,
        ge=1,
        description=(
            "A held day is critical at this many times the baseline's share or rate (at most "
            "1 / this for a drop), an idea after waiting this many times the limit."
        ),
    )

    # topics (fct_community_topics_weekly, fct_brand_topics_weekly; the rule is stated in
    # dbt_project/models/marts/topics/_topics__models.yml)
    topic_rising_min_posts: int = Field(
        default=5,
        ge=1,
        description="Fewest posts with a tag in a week before the tag can count as rising.",
    )
    topic_rising_min_change: float = Field(
        default=0.5,
        ge=0,
        description=(
            "How much more a rising tag's posts are than its mean over the four weeks before "
            "(posts / mean - 1; 0.5: half as many again); a tag new against those weeks rises "
            "on its count alone."
        ),
    )
