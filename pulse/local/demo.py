"""`pulse demo` / `make demo`: the whole pipeline on the embedded services, then a summary.

Steps: embedded stack up, warehouse init, seeded traffic generated, consumed, `community_metrics`
run for the demo period through Airflow's `dag.test()`, HTML report written; then a one-screen
summary whose headline figures are read from `marts` as `pulse_bi` (what a BI tool sees).
Re-running is safe: the generator sends the same events again and ingest stores each one once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from rich.console import Console
from rich.table import Table

from pulse.paths import DEFAULT_REPORT_PATH
from pulse.settings import Settings
from pulse.warehouse.connect import connect
from pulse.warehouse.names import BI_ROLE, MARTS

RETENTION_WEEK = 4


Z_95 = 1.959963984540054  # two-sided 95%, as the marts use


def wilson(successes: float, trials: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion, successes out of trials (successes <= trials)."""
    if trials <= 0:
        return (math.nan, math.nan)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = p + z * z / (2 * trials)
    margin = z * math.sqrt(max(0.0, p * (1 - p) / trials + z * z / (4 * trials * trials)))
    return (max(0.0, (centre - margin) / denominator), min(1.0, (centre + margin) / denominator))


def rate_ratio_interval(
    events_1: float, exposure_1: float, events_2: float, exposure_2: float
) -> tuple[float, float]:
    """Interval of (k1 / E1) / (k2 / E2), by the conditional binomial method the lift mart uses.

    Given n = k1 + k2, k1 is binomial with p = E1 R / (E1 R + E2); Wilson's interval for p maps
    to R = p / (1 - p) x E2 / E1. Needs k2 > 0 and both exposures positive.
    """
    low, high = wilson(events_1, events_1 + events_2)
    scale = exposure_2 / exposure_1
    return (low / (1 - low) * scale, high / (1 - high) * scale if high < 1 else math.inf)


@dataclass(frozen=True)
class BrandHeadline:
    """Headline figures of one brand over the whole demo period."""

    brand_id: str
    micro_rate: float | None
    broad_rate: float | None
    lift: float | None
    lift_low: float | None
    lift_high: float | None
    small_group_share: float | None
    retention_week4: float | None
    brand_voice_share: float | None
    ideas_by_status: dict[str, int]
    median_response_hours: float | None
    alerts: int
    open_incidents: int = 0


@dataclass
class DemoSummary:
    """What the demo prints; every figure comes from the warehouse, none from memory."""

    events_stored: int = 0
    duplicates_dropped: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    gates: dict[str, int] = field(default_factory=dict)
    mart_rows: dict[str, int] = field(default_factory=dict)
    brands: list[BrandHeadline] = field(default_factory=list)
    alerts_by_type: dict[str, int] = field(default_factory=dict)
    # alert type -> (incidents opened over the period, still open), from fct_alert_incidents
    incidents_by_type: dict[str, tuple[int, int]] = field(default_factory=dict)
    # with planted incidents: (planted, recall, precision)
    planted: tuple[int, float, float] | None = None
    # the latest complete ISO week and, per brand, its rising tags (tag, posts), busiest first
    topics_week: date | None = None
    rising_topics: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    report_path: Path | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)


TOPICS_SHOWN = 3  # rising tags per brand in the summary (the report lists every one)
# The latest complete ISO week (the last day with data may be in progress) and the tags rising
# in it per brand, busiest first.
_RISING_TOPICS_SQL = """
with latest as (
    select max(week_start) as week_start
    from marts.fct_brand_topics_weekly
    where week_start + 7 <= (select max(activity_date) from marts.fct_community_daily)
)
select topics.brand_id, topics.week_start, topics.tag, topics.posts
from marts.fct_brand_topics_weekly as topics
inner join latest on topics.week_start = latest.week_start
where topics.is_rising
order by topics.brand_id, topics.posts desc, topics.tag
"""

_BRAND_SQL = """
with lift as (
    select brand_id,
           sum(micro_engagements) as micro_engagements,
           sum(micro_member_post_opportunities) as micro_trials,
           sum(broad_engagements) as broad_engagements,
           sum(broad_member_post_opportunities) as broad_trials
    from marts.fct_brand_engagement_lift
    where not is_suppressed
    group by brand_id
),
retention as (
    select c.brand_id,
           sum(r.retained_members)::float / nullif(sum(r.cohort_members), 0) as share
    from marts.fct_member_retention as r
    join marts.dim_community as c using (community_id)
    where r.weeks_since_join = %(week)s and not r.is_suppressed
    group by c.brand_id
),
voice as (
    select c.brand_id,
           sum(d.brand_voice_share * (d.posts + d.comments))
               / nullif(sum(d.posts + d.comments) filter (where d.brand_voice_share is not null), 0)
               as share
    from marts.fct_community_daily as d
    join marts.dim_community as c using (community_id)
    group by c.brand_id
),
response as (
    select c.brand_id,
           percentile_cont(0.5) within group (order by i.hours_to_first_response) as hours
    from marts.fct_feedback_ideas as i
    join marts.dim_community as c using (community_id)
    group by c.brand_id
)
select b.brand_id, l.micro_engagements, l.micro_trials, l.broad_engagements, l.broad_trials,
       r.share, v.share, p.hours
from (select distinct brand_id from marts.dim_community) as b
left join lift as l using (brand_id)
left join retention as r using (brand_id)
left join voice as v using (brand_id)
left join response as p using (brand_id)
order by b.brand_id
"""


def brand_headline(row: tuple[Any, ...], statuses: dict[str, int], alerts: int) -> BrandHeadline:
    brand, micro_k, micro_n, broad_k, broad_n, retention, voice, response = row
    micro = float(micro_k) / float(micro_n) if micro_n else None
    broad = float(broad_k) / float(broad_n) if broad_n else None
    lift = low = high = None
    if micro is not None and broad:
        lift = micro / broad
        low, high = rate_ratio_interval(
            float(micro_k), float(micro_n), float(broad_k), float(broad_n)
        )
    total = float(micro_k or 0) + float(broad_k or 0)
    return BrandHeadline(
        brand_id=brand,
        micro_rate=micro,
        broad_rate=broad,
        lift=lift,
        lift_low=low,
        lift_high=high,
        small_group_share=float(micro_k or 0) / total if total else None,
        retention_week4=float(retention) if retention is not None else None,
        brand_voice_share=float(voice) if voice is not None else None,
        ideas_by_status=statuses,
        median_response_hours=float(response) if response is not None else None,
        alerts=alerts,
    )


def read_summary(dsn: str) -> DemoSummary:
    """Gather the summary: ingest and quality figures as the admin, marts as pulse_bi."""
    summary = DemoSummary()
    with psycopg.connect(dsn) as conn:
        summary.events_stored = conn.execute(
            "select count(*) from raw.community_events"
        ).fetchone()[0]  # type: ignore[index]
        summary.duplicates_dropped = conn.execute(
            "select coalesce(sum(duplicates), 0) from raw.ingest_batches"
        ).fetchone()[0]  # type: ignore[index]
        summary.dead_letters = dict(
            conn.execute(
                "select reason, count(*) from raw.dead_letter_events group by 1 order by 1"
            ).fetchall()
        )
        summary.gates = dict(
            conn.execute(
                "select case when success then 'passed' else 'failed' end, count(*) "
                "from quality.validation_results group by 1"
            ).fetchall()
        )
        alerts = conn.execute(
            "select a.alert_type, c.brand_id from quality.published_alerts as a "
            "left join marts.dim_community as c using (community_id)"
        ).fetchall()
    # What a BI tool sees, and only that.
    with connect(dsn, role=BI_ROLE, read_only=True) as conn:
        for mart in MARTS:
            summary.mart_rows[mart] = conn.execute(
                sql.SQL("select count(*) from marts.{}").format(sql.Identifier(mart))
            ).fetchone()[0]  # type: ignore[index]
        statuses: dict[str, dict[str, int]] = {}
        for brand, status, count in conn.execute(
            "select c.brand_id, i.current_status, count(*) from marts.fct_feedback_ideas as i "
            "join marts.dim_community as c using (community_id) group by 1, 2 order by 1, 2"
        ).fetchall():
            statuses.setdefault(brand, {})[status] = count
        for alert_type, _ in alerts:
            summary.alerts_by_type[alert_type] = summary.alerts_by_type.get(alert_type, 0) + 1
        open_by_brand: dict[str, int] = {}
        for alert_type, brand, opened, still_open in conn.execute(
            "select alert_type, brand_id, count(*), count(*) filter (where status = 'open') "
            "from marts.fct_alert_incidents group by 1, 2 order by 1, 2"
        ).fetchall():
            before = summary.incidents_by_type.get(alert_type, (0, 0))
            summary.incidents_by_type[alert_type] = (before[0] + opened, before[1] + still_open)
            open_by_brand[brand] = open_by_brand.get(brand, 0) + still_open
        for brand, week, tag, posts in conn.execute(_RISING_TOPICS_SQL).fetchall():
            summary.topics_week = week
            topics = summary.rising_topics.setdefault(brand, [])
            if len(topics) < TOPICS_SHOWN:
                topics.append((tag, posts))
        for row in conn.execute(_BRAND_SQL, {"week": RETENTION_WEEK}).fetchall():
            brand = row[0]
            brand_alerts = sum(1 for _, b in alerts if b == brand)
            headline = brand_headline(row, statuses.get(brand, {}), brand_alerts)
            summary.brands.append(replace(headline, open_incidents=open_by_brand.get(brand, 0)))
    return summary


def score_planted(dsn: str, config: Any) -> tuple[int, float, float]:
    """(planted, recall, precision) of the incidents BI sees against what the generator planted."""
    from pulse.local.generator import planted_incidents
    from pulse.local.generator.planted import score

    with (
        connect(dsn, role=BI_ROLE, read_only=True) as conn,
        conn.cursor(row_factory=dict_row) as cur,
    ):
        rows = cur.execute(
            "select community_id, alert_type, opened_at, last_seen_at, resolved_at "
            "from marts.fct_alert_incidents"
        ).fetchall()
    result = score(rows, planted_incidents(config))
    return result.planted, result.recall, result.precision


def render(summary: DemoSummary, console: Console) -> None:
    """The one-screen summary."""
    ingest = Table(title="ingest", show_header=False)
    ingest.add_row("events in raw (after erasures)", f"{summary.events_stored:,}")
    ingest.add_row("duplicates dropped", f"{summary.duplicates_dropped:,}")
    letters = ", ".join(f"{k} {v:,}" for k, v in summary.dead_letters.items()) or "none"
    ingest.add_row("dead letters", letters)
    ingest.add_row(
        "quality checks",
        f"{summary.gates.get('passed', 0):,} passed, {summary.gates.get('failed', 0):,} failed",
    )
    ingest.add_row("marts rows", ", ".join(f"{k} {v:,}" for k, v in summary.mart_rows.items()))
    incidents = ", ".join(
        f"{kind} {opened} ({still_open} open)"
        for kind, (opened, still_open) in sorted(summary.incidents_by_type.items())
    )
    ingest.add_row("incidents opened", incidents or "none")
    if summary.planted is not None:
        planted, recall, precision = summary.planted
        ingest.add_row(
            "planted incidents",
            f"{planted} planted: recall {recall:.0%} (opened within a day of the start), "
            f"precision {precision:.0%} (incidents overlapping a planted one)",
        )
    console.print(ingest)

    brands = Table(title="per brand, whole period (from marts, read as pulse_bi)")
    # lift: micro vs broad engagement rate per post and member; micro share: of all engagement;
    # voice: brand+moderator share of posts and comments; resp.: median hours to first response.
    headers = ("brand", "lift", "95% CI", "micro share", f"ret wk{RETENTION_WEEK}", "voice")
    for column in (*headers, "resp.", "open inc."):
        brands.add_column(column, no_wrap=True)
    for b in summary.brands:
        brands.add_row(
            b.brand_id,
            "-" if b.lift is None else f"{b.lift:.1f}x",
            "-" if b.lift is None else f"{b.lift_low:.1f}-{b.lift_high:.1f}",
            _pct(b.small_group_share),
            _pct(b.retention_week4),
            _pct(b.brand_voice_share),
            "-" if b.median_response_hours is None else f"{b.median_response_hours:.1f} h",
            str(b.open_incidents),
        )
    console.print(brands)

    if summary.topics_week is not None:
        topics = Table(title=f"rising topics, week of {summary.topics_week:%Y-%m-%d}")
        topics.add_column("brand", no_wrap=True)
        topics.add_column("tags (posts that week)", no_wrap=True)
        for b in summary.brands:
            tags = summary.rising_topics.get(b.brand_id, [])
            topics.add_row(b.brand_id, ", ".join(f"{tag} ({posts})" for tag, posts in tags) or "-")
        console.print(topics)

    statuses = sorted({status for b in summary.brands for status in b.ideas_by_status})
    ideas = Table(title="ideas by current status")
    ideas.add_column("brand", no_wrap=True)
    for status in statuses:
        ideas.add_column(status.replace("_", " "), justify="right", no_wrap=True)
    for b in summary.brands:
        ideas.add_row(b.brand_id, *(str(b.ideas_by_status.get(s, 0)) for s in statuses))
    console.print(ideas)
    if summary.step_seconds:
        steps = ", ".join(f"{k} {v:.0f} s" for k, v in summary.step_seconds.items())
        console.print(f"time: {steps}")
    if summary.report_path:
        console.print(f"report: [bold]{summary.report_path}[/bold]")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def run_demo(
    settings: Settings,
    console: Console,
    *,
    events: int = 200_000,
    days: int = 60,
    seed: int = 42,
    report_path: Path = DEFAULT_REPORT_PATH,
    plant_incidents: bool = False,
) -> DemoSummary:
    """Run every step on the embedded (or configured) services and return the summary."""
    from pulse.local.generator import GeneratorConfig, expected_messages, generate, produce
    from pulse.local.stack import LocalStack
    from pulse.orchestration import run_once
    from pulse.report import build_report
    from pulse.runtime import ingest_config, resolve_endpoints
    from pulse.warehouse.init import init_warehouse
    from streaming.consumer import IngestConsumer
    from streaming.topics import ensure_topics, pipeline_topics

    timings: dict[str, float] = {}

    def step(name: str, action: Callable[[], Any]) -> Any:
        started = time.monotonic()
        console.rule(f"[bold]{name}")
        result = action()
        timings[name] = time.monotonic() - started
        return result

    if settings.pg_dsn is None or settings.kafka_bootstrap is None:
        step(
            "embedded services",
            lambda: LocalStack(settings.state_dir).up(
                postgres=settings.pg_dsn is None, kafka=settings.kafka_bootstrap is None
            ),
        )
    endpoints = resolve_endpoints(settings)
    ensure_topics(endpoints.kafka_bootstrap, pipeline_topics(settings))
    step("warehouse", lambda: init_warehouse(endpoints.pg_dsn))

    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    config = GeneratorConfig(
        seed=seed, events=events, days=days, end=end, plant_incidents=plant_incidents
    )
    report = step(
        "generate",
        lambda: produce(
            generate(config),
            endpoints.kafka_bootstrap,
            settings.events_topic,
            show_progress=True,
            total=expected_messages(config),
        ),
    )
    console.print(f"produced {report}")

    ingest = step(
        "consume",
        lambda: IngestConsumer(ingest_config(settings, endpoints, stop_when_idle_s=5.0)).run(),
    )
    console.print(
        f"consumed {ingest.messages:,} messages: {ingest.inserted:,} stored, "
        f"{ingest.duplicates:,} duplicates, {ingest.dead_letters:,} dead letters"
    )
    run = step(
        "community_metrics (Airflow dag.test)",
        lambda: run_once(settings, end - timedelta(days=days), end),
    )
    console.print(run.headline())
    summary_report = step(
        "report", lambda: build_report(endpoints.pg_dsn, report_path, settings=settings)
    )
    summary = read_summary(endpoints.pg_dsn)
    if plant_incidents:
        summary.planted = score_planted(endpoints.pg_dsn, config)
    summary.report_path = summary_report.path
    summary.step_seconds = timings
    return summary
