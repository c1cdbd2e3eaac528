"""`pulse report`: one self-contained HTML page of what BI sees, with charts.

The marts are read exactly as a BI tool reads them: connect with the DSN, `SET ROLE pulse_bi`,
select from the views of schema `marts`. If the report builds, BI-level access is enough for
every figure drawn from the marts. Two things BI may not see come through a second, read-only
connection acting as `pulse_transform` (the role that reads `raw` and `quality`): the dead-letter
summary (`raw.dead_letter_events`) and the alerts the publisher sent (`quality.published_alerts`).
When no alert has been published, the alert markers are computed here with the publisher's own
rules and thresholds (`pulse.publishing.alerts`). The page's footer says where each part came from.

The page needs nothing at view time: charts are inline SVG drawn in Python
(`pulse.report.svg`), styles and the small self-check script are inline, and a
Content-Security-Policy forbids every fetch. The self-check counts the data points each chart
drew and marks `<body>` with `data-js-ok="true"` when every chart has data and no script error
happened (the tests read it with headless Chromium).
"""

from __future__ import annotations

import json
import logging
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from pulse.errors import PulseError
from pulse.paths import DEFAULT_REPORT_PATH
from pulse.publishing.alerts import AlertThresholds, DayFigures, evaluate
from pulse.report import svg as charts
from pulse.report.svg import (
    ALERT_COLOR,
    BROAD_COLOR,
    MICRO_COLOR,
    MUTED_COLOR,
    PALETTE,
    Bar,
    Chart,
    ColumnSeries,
    IntervalPoint,
    IntervalSeries,
    LegendItem,
    Marker,
    Rule,
    Series,
    esc,
)
from pulse.settings import Settings
from pulse.warehouse.connect import RoleUnavailable, connect, current_role
from pulse.warehouse.names import BI_ROLE, DEAD_LETTER_REASONS, MARTS_SCHEMA, TRANSFORM_ROLE

logger = logging.getLogger(__name__)

# The operational part (dead letters, published alerts) is read as the transform role.
OPS_ROLE = TRANSFORM_ROLE
PUBLISHED_ALERTS = ("quality", "published_alerts")

# Brand voice is judged over the most recent weeks, not the whole history.
BRAND_VOICE_WINDOW_DAYS = 28
# Rows of the alert table under the sentiment chart (the markers show every alert).
ALERT_TABLE_ROWS = 12

DAY_ALERT_TYPES = ("negative_sentiment_spike", "engagement_drop", "brand_voice_too_high")
IDEA_STATUSES = ("submitted", "under_review", "accepted", "implemented", "declined")
RESPONSE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 h", 1),
    ("1\u20134 h", 4),
    ("4\u201312 h", 12),
    ("12\u201324 h", 24),
    ("1\u20132 days", 48),
    ("2\u20134 days", 96),
    ("4\u20137 days", 168),
    ("> 7 days", float("inf")),
)

# Every mart column the report reads (a unit test checks them against the dbt contracts).
COLUMNS_READ: dict[str, tuple[str, ...]] = {
    "dim_community": (
        "community_id",
        "brand_id",
        "community_name",
        "community_kind",
        "is_suppressed",
        "members_current",
    ),
    "fct_community_daily": (
        "community_id",
        "activity_date",
        "is_suppressed",
        "posts",
        "comments",
        "members_at_start",
        "engagements",
        "engagements_per_post",
        "brand_voice_share",
        "avg_sentiment",
        "negative_share",
    ),
    "fct_brand_engagement_lift": (
        "brand_id",
        "week_start",
        "is_suppressed",
        "micro_posts",
        "broad_posts",
        "micro_engagement_rate",
        "micro_engagement_rate_lower_95",
        "micro_engagement_rate_upper_95",
        "broad_engagement_rate",
        "broad_engagement_rate_lower_95",
        "broad_engagement_rate_upper_95",
        "lift",
        "lift_lower_95",
        "lift_upper_95",
        "small_group_engagement_share",
    ),
    "fct_member_retention": (
        "community_id",
        "cohort_week",
        "weeks_since_join",
        "is_suppressed",
        "cohort_members",
        "retained_members",
    ),
    "fct_feedback_ideas": (
        "community_id",
        "current_status",
        "decision_status",
        "hours_to_first_response",
        "hours_to_decision",
    ),
}


class ReportError(PulseError):
    """The report cannot be built (no access as pulse_bi, or marts not published yet)."""


# -- data ---------------------------------------------------------------------------------------


class Community(NamedTuple):
    community_id: str
    brand_id: str | None
    name: str
    kind: str | None
    is_suppressed: bool
    members_current: int | None


class DailyFigures(NamedTuple):
    """One shown (not suppressed) community-day of fct_community_daily."""

    community_id: str
    day: date
    posts: int
    comments: int
    engagements_per_post: float | None
    brand_voice_share: float | None
    avg_sentiment: float | None
    negative_share: float | None


class WeeklyEngagement(NamedTuple):
    community_id: str
    week_start: date
    engagement_rate: float


class LiftWeek(NamedTuple):
    brand_id: str
    week_start: date
    is_suppressed: bool
    micro_posts: int | None
    broad_posts: int | None
    micro_rate: float | None
    micro_lower: float | None
    micro_upper: float | None
    broad_rate: float | None
    broad_lower: float | None
    broad_upper: float | None
    lift: float | None
    lift_lower: float | None
    lift_upper: float | None
    small_group_share: float | None


class RetentionPoint(NamedTuple):
    community_kind: str
    cohort_week: date
    weeks_since_join: int
    retained_share: float
    cohort_members: int


class BrandVoice(NamedTuple):
    community_id: str
    share: float
    posts_and_comments: int


class Idea(NamedTuple):
    community_id: str
    current_status: str
    decision_status: str | None
    hours_to_first_response: float | None
    hours_to_decision: float | None


class Alert(NamedTuple):
    """A day alert about one community (published, or found with the publisher's rules)."""

    community_id: str
    day: date
    alert_type: str
    severity: str
    summary: str = ""


class DeadLetterReason(NamedTuple):
    reason: str
    count: int
    first_received_at: datetime
    last_received_at: datetime
    replayed: int


@dataclass
class ReportData:
    """Everything the page shows, already read: rendering needs no database."""

    generated_at: datetime
    read_as: str
    build: str | None
    min_group_size: int
    thresholds: AlertThresholds
    communities: list[Community]
    daily: list[DailyFigures]
    weekly_engagement: list[WeeklyEngagement]
    lift: list[LiftWeek]
    retention: list[RetentionPoint]
    brand_voice: list[BrandVoice]
    brand_voice_window: tuple[date, date] | None
    ideas: list[Idea]
    alerts: list[Alert]
    alerts_source: str
    dead_letters: list[DeadLetterReason] | None
    events_stored: int | None
    dead_letters_source: str
    first_day: date | None = None
    last_day: date | None = None


@dataclass(frozen=True)
class ReportSummary:
    """What `build_report` wrote: the file, and the data points each chart shows."""

    path: Path
    points: dict[str, int]
    read_as: str = BI_ROLE
    build: str | None = None
    alerts_source: str = ""
    dead_letters_source: str = ""
    optional_charts: frozenset[str] = field(default_factory=frozenset)

    @property
    def empty_charts(self) -> list[str]:
        """Charts without data that should have some (no dead letters at all is fine)."""
        return [
            name for name, n in self.points.items() if n == 0 and name not in self.optional_charts
        ]

    def describe(self) -> str:
        shown = sum(1 for n in self.points.values() if n)
        text = f"{shown}/{len(self.points)} charts with data, {sum(self.points.values()):,} points"
        if self.empty_charts:
            text += f"; without data: {', '.join(self.empty_charts)}"
        return text


# -- entry point --------------------------------------------------------------------------------


def build_report(
    dsn: str,
    out_path: Path = DEFAULT_REPORT_PATH,
    *,
    settings: Settings,
    ops_dsn: str | None = None,
    now: datetime | None = None,
) -> ReportSummary:
    """Read the marts as pulse_bi and write the HTML report.

    Args:
        dsn: warehouse connection string of a role that is, or may act as, pulse_bi.
        out_path: where to write the page (missing folders are created).
        settings: the run's settings (minimum group size, alert thresholds).
        ops_dsn: connection for what BI may not read (dead letters, published alerts); default
            `dsn`, acting as pulse_transform when it may.
        now: the generation time printed on the page (default: now, UTC).

    Returns:
        The path written and the number of data points of each chart.

    Raises:
        ReportError: the DSN cannot act as pulse_bi, or `marts` has not been published yet.
    """
    data = load_report_data(dsn, settings=settings, ops_dsn=ops_dsn, now=now)
    page, points, optional = render_report(data)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    summary = ReportSummary(
        path=out_path,
        points=points,
        read_as=data.read_as,
        build=data.build,
        alerts_source=data.alerts_source,
        dead_letters_source=data.dead_letters_source,
        optional_charts=frozenset(optional),
    )
    logger.debug("report written to %s: %s", out_path, summary.describe())
    return summary


# -- reading ------------------------------------------------------------------------------------


def _float(value: Any) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal | int | float) else float(str(value))


def _mart(name: str) -> sql.Composed:
    return sql.SQL("{}").format(sql.Identifier(MARTS_SCHEMA, name))


def _connect_as_bi(dsn: str) -> psycopg.Connection:
    try:
        conn = connect(dsn, role=BI_ROLE, read_only=True)
    except psycopg.OperationalError as error:
        raise ReportError(f"cannot connect to the warehouse: {error}".strip()) from None
    except RoleUnavailable:
        raise ReportError(
            f"the report reads marts as {BI_ROLE}, and this DSN's user may not act as it "
            f"(connect as {BI_ROLE}, or as a role granted {BI_ROLE})"
        ) from None
    missing = []
    for mart in COLUMNS_READ:
        row = conn.execute("select to_regclass(%s)", [f"{MARTS_SCHEMA}.{mart}"]).fetchone()
        if row is None or row[0] is None:
            missing.append(mart)
    if missing:
        conn.close()
        raise ReportError(
            f"{BI_ROLE} sees no {', '.join(f'{MARTS_SCHEMA}.{m}' for m in missing)}: run the "
            "pipeline (dbt build, marts gate, promote) first"
        )
    return conn


def load_report_data(
    dsn: str,
    *,
    settings: Settings,
    ops_dsn: str | None = None,
    now: datetime | None = None,
) -> ReportData:
    """Read every figure of the report: marts as pulse_bi, dead letters and alerts as ops."""
    thresholds = AlertThresholds.from_settings(settings)
    with _connect_as_bi(dsn) as conn:
        read_as = _scalar(conn, "select current_user")
        build = _scalar(
            conn,
            "select obj_description(to_regclass(%s), 'pg_class')",
            [f"{MARTS_SCHEMA}.fct_community_daily"],
        )
        communities = [
            Community(r[0], r[1], r[2] or r[0], r[3], bool(r[4]), r[5])
            for r in conn.execute(
                sql.SQL(
                    "select community_id, brand_id, community_name, community_kind, "
                    "is_suppressed, members_current from {} "
                    "order by brand_id, community_kind desc, community_id"
                ).format(_mart("dim_community"))
            )
        ]
        daily = [
            DailyFigures(r[0], r[1], int(r[2] or 0), int(r[3] or 0), *map(_float, r[4:]))
            for r in conn.execute(
                sql.SQL(
                    "select community_id, activity_date, posts, comments, engagements_per_post, "
                    "brand_voice_share, avg_sentiment, negative_share from {} "
                    "where not is_suppressed order by community_id, activity_date"
                ).format(_mart("fct_community_daily"))
            )
        ]
        bounds = conn.execute(
            sql.SQL("select min(activity_date), max(activity_date) from {}").format(
                _mart("fct_community_daily")
            )
        ).fetchone()
        first_day, last_day = (bounds[0], bounds[1]) if bounds else (None, None)
        # The week's rate pooled over its shown days: sum(engagements) / sum(posts x members at
        # the start of the day), i.e. the daily engagement_rate weighted by its denominator.
        weekly = [
            WeeklyEngagement(r[0], r[1], float(r[2]))
            for r in conn.execute(
                sql.SQL(
                    "select community_id, date_trunc('week', activity_date)::date, "
                    "sum(engagements)::float8 / sum(posts * members_at_start) "
                    "from {} where not is_suppressed "
                    "group by 1, 2 having sum(posts * members_at_start) > 0 order by 1, 2"
                ).format(_mart("fct_community_daily"))
            )
        ]
        lift = [
            LiftWeek(r[0], r[1], bool(r[2]), r[3], r[4], *map(_float, r[5:]))
            for r in conn.execute(
                sql.SQL(
                    "select brand_id, week_start, is_suppressed, micro_posts, broad_posts, "
                    "micro_engagement_rate, micro_engagement_rate_lower_95, "
                    "micro_engagement_rate_upper_95, broad_engagement_rate, "
                    "broad_engagement_rate_lower_95, broad_engagement_rate_upper_95, lift, "
                    "lift_lower_95, lift_upper_95, small_group_engagement_share "
                    "from {} order by brand_id, week_start"
                ).format(_mart("fct_brand_engagement_lift"))
            )
        ]
        # A cohort pooled over the communities of one kind where it is shown: every row of a
        # shown (community, cohort) has the same cohort_members, so the pool is consistent.
        retention = [
            RetentionPoint(r[0], r[1], int(r[2]), float(r[3]), int(r[4]))
            for r in conn.execute(
                sql.SQL(
                    "select community.community_kind, retention.cohort_week, "
                    "retention.weeks_since_join, "
                    "sum(retention.retained_members)::float8 / sum(retention.cohort_members), "
                    "sum(retention.cohort_members) "
                    "from {} as retention inner join {} as community "
                    "on retention.community_id = community.community_id "
                    "where not retention.is_suppressed and community.community_kind is not null "
                    "group by 1, 2, 3 having sum(retention.cohort_members) > 0 order by 1, 2, 3"
                ).format(_mart("fct_member_retention"), _mart("dim_community"))
            )
        ]
        ideas = [
            Idea(r[0], r[1], r[2], _float(r[3]), _float(r[4]))
            for r in conn.execute(
                sql.SQL(
                    "select community_id, current_status, decision_status, "
                    "hours_to_first_response, hours_to_decision from {}"
                ).format(_mart("fct_feedback_ideas"))
            )
        ]
    window = (
        (last_day - timedelta(days=BRAND_VOICE_WINDOW_DAYS - 1), last_day) if last_day else None
    )
    ops = _read_ops(ops_dsn or dsn)
    if ops.alerts:
        alerts, alerts_source = ops.alerts, ops.alerts_source
    else:
        alerts = computed_alerts(daily, thresholds)
        why = ops.alerts_source or "no alert published yet"
        alerts_source = (
            f"computed here from marts.fct_community_daily with the publisher's rules and "
            f"thresholds (pulse.publishing.alerts), because {why}"
        )
    return ReportData(
        generated_at=now or datetime.now(UTC),
        read_as=str(read_as),
        build=build,
        min_group_size=settings.min_group_size,
        thresholds=thresholds,
        communities=communities,
        daily=daily,
        weekly_engagement=weekly,
        lift=lift,
        retention=retention,
        brand_voice=pooled_brand_voice(daily, window) if window else [],
        brand_voice_window=window,
        ideas=ideas,
        alerts=alerts,
        alerts_source=alerts_source,
        dead_letters=ops.dead_letters,
        events_stored=ops.events_stored,
        dead_letters_source=ops.dead_letters_source,
        first_day=first_day,
        last_day=last_day,
    )


def _scalar(conn: psycopg.Connection, query: str, params: Sequence[Any] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def pooled_brand_voice(days: Iterable[DailyFigures], window: tuple[date, date]) -> list[BrandVoice]:
    """Brand voice share per community over the window, each day weighted by its items."""
    voiced: dict[str, float] = defaultdict(float)
    items: dict[str, int] = defaultdict(int)
    for day in days:
        n = day.posts + day.comments
        if day.brand_voice_share is None or not n or not window[0] <= day.day <= window[1]:
            continue
        voiced[day.community_id] += day.brand_voice_share * n
        items[day.community_id] += n
    return sorted(
        (BrandVoice(cid, voiced[cid] / items[cid], items[cid]) for cid in items),
        key=lambda row: (-row.share, row.community_id),
    )


def computed_alerts(days: Sequence[DailyFigures], thresholds: AlertThresholds) -> list[Alert]:
    """The day alerts the publisher's rules raise over every day in `days`."""
    if not days:
        return []
    first = min(d.day for d in days)
    last = max(d.day for d in days)
    found = evaluate(
        (
            DayFigures(
                community_id=d.community_id,
                activity_date=d.day,
                is_suppressed=False,
                posts=d.posts,
                comments=d.comments,
                engagements_per_post=d.engagements_per_post,
                brand_voice_share=d.brand_voice_share,
                negative_share=d.negative_share,
            )
            for d in days
        ),
        [],
        interval_start=datetime.combine(first, time(0), tzinfo=UTC),
        interval_end=datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC),
        run_id="report",
        thresholds=thresholds,
    )
    return [
        Alert(a.community_id, date.fromisoformat(a.subject), a.alert_type, a.severity, a.summary)
        for a in found
        if a.alert_type in DAY_ALERT_TYPES
    ]


@dataclass
class _OpsData:
    dead_letters: list[DeadLetterReason] | None = None
    events_stored: int | None = None
    dead_letters_source: str = ""
    alerts: list[Alert] | None = None
    alerts_source: str = ""


def _read_ops(dsn: str) -> _OpsData:
    """Dead letters (raw) and published alerts (quality): never readable by pulse_bi."""
    ops = _OpsData()
    try:
        # Read as the transform role when the login may act as it, else as the login itself.
        conn = connect(dsn, role=OPS_ROLE, required=False, read_only=True, autocommit=True)
    except psycopg.OperationalError as error:
        ops.dead_letters_source = f"not shown: no connection for the operational part ({error})"
        ops.alerts_source = "published alerts could not be read"
        return ops
    with conn:
        role = current_role(conn)
        try:
            ops.dead_letters = [
                DeadLetterReason(r[0], int(r[1]), r[2], r[3], int(r[4]))
                for r in conn.execute(
                    "select reason, count(*), min(received_at), max(received_at), "
                    "count(replayed_at) from raw.dead_letter_events group by reason "
                    "order by count(*) desc, reason"
                )
            ]
            ops.events_stored = int(_scalar(conn, "select count(*) from raw.community_events"))
            ops.dead_letters_source = (
                f"raw.dead_letter_events, read over a second, read-only connection acting as "
                f"{role} ({BI_ROLE} cannot read raw)"
            )
        except psycopg.errors.InsufficientPrivilege:
            ops.dead_letters = None
            ops.dead_letters_source = (
                f"not shown: raw.dead_letter_events is not readable as {role} "
                f"(it needs {OPS_ROLE}; {BI_ROLE} cannot read raw)"
            )
        ops.alerts, ops.alerts_source = _published_alerts(conn, role)
    return ops


def _published_alerts(conn: psycopg.Connection, role: str) -> tuple[list[Alert] | None, str]:
    """The day alerts the publisher sent, from quality.published_alerts (None: not readable)."""
    schema, table = PUBLISHED_ALERTS
    name = f"{schema}.{table}"
    try:
        if _scalar(conn, "select to_regclass(%s)", [name]) is None:
            return None, f"{name} does not exist"
        rows = conn.execute(
            sql.SQL(
                "select community_id, subject, alert_type, severity from {} "
                "where alert_type = any(%s) order by subject, community_id"
            ).format(sql.Identifier(schema, table)),
            [list(DAY_ALERT_TYPES)],
        ).fetchall()
    except psycopg.errors.InsufficientPrivilege:
        return None, f"{name} is not readable as {role}"
    alerts = []
    for community_id, subject, alert_type, severity in rows:
        try:
            day = date.fromisoformat(subject)
        except ValueError:
            logger.warning("published alert with a subject that is no day: %r", subject)
            continue
        alerts.append(Alert(community_id, day, alert_type, severity))
    if not alerts:
        return None, f"{name} holds no day alert yet"
    return alerts, f"the alerts the publisher sent, read from {name} as {role}"


# -- rendering ----------------------------------------------------------------------------------

PANEL_3 = 392  # width of a panel in a row of three (the page is at most 1240 px wide)
PANEL_2 = 590
PANEL_1 = 1190


def _panel_width(panels: int) -> int:
    """SVG width that matches the shown width, so text stays the same size on every chart."""
    return PANEL_3 if panels >= 3 else PANEL_2 if panels == 2 else PANEL_1


@dataclass
class _Figure:
    chart_id: str
    html: str
    points: int
    empty_ok: bool = False


def _figure(
    chart_id: str,
    title: str,
    caption: str,
    panels: Sequence[Chart | tuple[Chart, str]],
    *,
    legend: str = "",
    columns: int = 1,
    empty_ok: bool = False,
    after: str = "",
) -> _Figure:
    """A figure: heading, shared legend, panels (each with its own legend), caption.

    `caption` and `after` are HTML: escape what comes from data before passing it.
    """
    cells = []
    points = 0
    for panel in panels:
        chart, panel_legend = panel if isinstance(panel, tuple) else (panel, "")
        points += chart.points
        cells.append(f'<div class="panel">{chart.svg}{panel_legend}</div>')
    attrs = f'data-chart="{esc(chart_id)}" data-points="{points}"'
    if empty_ok:
        attrs += " data-empty-ok"
    html = (
        f'<figure class="chart" id="chart-{esc(chart_id)}" {attrs}>'
        f"<h3>{esc(title)}</h3>{legend}"
        f'<div class="panels cols-{columns}">{"".join(cells)}</div>'
        f"<figcaption>{caption}</figcaption>{after}</figure>"
    )
    return _Figure(chart_id, html, points, empty_ok)


def _community_names(data: ReportData) -> dict[str, Community]:
    return {c.community_id: c for c in data.communities}


def _brands(data: ReportData) -> list[str]:
    brands = {c.brand_id for c in data.communities if c.brand_id}
    brands |= {row.brand_id for row in data.lift}
    return sorted(brands)


def _brand_label(brand_id: str) -> str:
    return brand_id.replace("_", " ").capitalize() if brand_id.islower() else brand_id


def _community_label(community: Community | None, community_id: str) -> str:
    if community is None:
        return community_id
    kind = f" ({community.kind})" if community.kind else ""
    return f"{community.name}{kind}"


def _community_styles(data: ReportData) -> dict[str, tuple[str, bool]]:
    """Colour and dash per community: micro communities in colour, broad ones dashed grey."""
    styles: dict[str, tuple[str, bool]] = {}
    by_brand: dict[str | None, list[Community]] = defaultdict(list)
    for community in data.communities:
        by_brand[community.brand_id].append(community)
    broad_shades = ("#3d4350", "#8b93a3", "#5f6676")
    for members in by_brand.values():
        micro = broad = 0
        for community in members:
            if community.kind == "broad":
                styles[community.community_id] = (broad_shades[broad % len(broad_shades)], True)
                broad += 1
            else:
                styles[community.community_id] = (PALETTE[micro % len(PALETTE)], False)
                micro += 1
    return styles


def _on_grid(
    points: dict[date, float], first: date, last: date, step: int
) -> list[tuple[date, float | None]]:
    """Values on every step from first to last; a missing one is None, so the line breaks."""
    grid = []
    day = first
    while day <= last:
        grid.append((day, points.get(day)))
        day += timedelta(days=step)
    return grid


def _per_brand_series(
    data: ReportData, values: dict[str, dict[date, float]], step: int
) -> list[tuple[str, list[Series]]]:
    """One panel per brand, one line per community (missing periods break the line)."""
    names = _community_names(data)
    styles = _community_styles(data)
    every = [day for points in values.values() for day in points]
    if not every:
        return []
    first, last = min(every), max(every)
    by_brand: dict[str, list[Series]] = defaultdict(list)
    for community_id, points in values.items():
        community = names.get(community_id)
        brand = (community.brand_id if community else None) or "(no brand)"
        colour, dashed = styles.get(community_id, (MUTED_COLOR, False))
        by_brand[brand].append(
            Series(
                _community_label(community, community_id),
                _on_grid(points, first, last, step),
                colour,
                dashed,
            )
        )
    return [
        (brand, sorted(by_brand[brand], key=lambda s: (s.dashed, s.name)))
        for brand in [*_brands(data), "(no brand)"]
        if brand in by_brand
    ]


def _legend_for(series: Sequence[Series]) -> str:
    return charts.legend(
        [LegendItem(s.name, s.color, "dashed" if s.dashed else "line") for s in series]
    )


def _chart_engagement(data: ReportData) -> _Figure:
    values: dict[str, dict[date, float]] = defaultdict(dict)
    for row in data.weekly_engagement:
        values[row.community_id][row.week_start] = row.engagement_rate
    rates = [r.engagement_rate for r in data.weekly_engagement]
    y_top = charts.nice_ticks(0, max(rates) * 1.05)[-1] if rates else 1.0
    by_brand = _per_brand_series(data, values, step=7)
    panels: list[tuple[Chart, str]] = [
        (
            charts.line_chart(
                series,
                title=_brand_label(brand),
                y_format=charts.percent(1),
                tooltip_format=charts.percent(2),
                y_label="engagement rate (% per member per post)",
                x_label="week starting (Monday, UTC)",
                y_domain=(0.0, y_top),
                width=_panel_width(len(by_brand)),
                height=280,
                point_radius=2.8,
            ),
            _legend_for(series),
        )
        for brand, series in by_brand
    ]
    if not panels:
        panels = [(charts.empty_chart("Engagement rate", "no community-week shown"), "")]
    return _figure(
        "engagement_rate",
        "Engagement rate per community, by week",
        "Engagements (comments, net reactions and shares received by the posts) ÷ (posts \u00d7 "
        "members at the start of the day), pooled over each week's shown days of "
        "marts.fct_community_daily. Solid lines: micro communities; dashed grey: the brand's "
        "broad channels. Same scale in every panel; a gap is a week with too few active members "
        "to show.",
        panels,
        columns=min(3, len(panels)),
    )


def _chart_micro_vs_broad(data: ReportData) -> _Figure:
    bounds = [
        v
        for r in data.lift
        for v in (r.micro_upper, r.broad_upper, r.micro_rate, r.broad_rate)
        if v is not None
    ]
    y_top = charts.nice_ticks(0, max(bounds) * 1.05)[-1] if bounds else 1.0
    panels = []
    brands = [b for b in _brands(data) if any(r.brand_id == b for r in data.lift)]
    for brand in brands:
        weeks = [r for r in data.lift if r.brand_id == brand]
        micro = [
            IntervalPoint(
                r.week_start, r.micro_rate, r.micro_lower, r.micro_upper, f"{r.micro_posts} posts"
            )
            for r in weeks
            if r.micro_rate is not None and r.micro_lower is not None and r.micro_upper is not None
        ]
        broad = [
            IntervalPoint(
                r.week_start, r.broad_rate, r.broad_lower, r.broad_upper, f"{r.broad_posts} posts"
            )
            for r in weeks
            if r.broad_rate is not None and r.broad_lower is not None and r.broad_upper is not None
        ]
        if micro or broad:
            panels.append(
                charts.interval_chart(
                    [
                        IntervalSeries("micro communities", micro, MICRO_COLOR),
                        IntervalSeries("broad channels", broad, BROAD_COLOR),
                    ],
                    title=_brand_label(brand),
                    y_format=charts.percent(1),
                    y_label="engagement rate (% per member per post)",
                    x_label="week starting (Monday, UTC)",
                    y_domain=(0.0, y_top),
                    width=_panel_width(len(brands)),
                    height=280,
                )
            )
    if not panels:
        panels = [charts.empty_chart("Micro vs broad", "no brand-week with a side shown")]
    legend = charts.legend(
        [
            LegendItem("micro communities", MICRO_COLOR, "interval"),
            LegendItem(
                "broad channels",
                BROAD_COLOR,
                "interval",
                "dot: the week's rate; bar: 95% Poisson score interval",
            ),
        ]
    )
    return _figure(
        "engagement_micro_vs_broad",
        "Engagement rate per post: micro communities vs broad channels, by brand",
        "marts.fct_brand_engagement_lift: the week's engagements ÷ member-post opportunities "
        "(posts \u00d7 members at the start of the week) on each side, with its 95% Poisson "
        "score interval (engagements are counts: a member may engage many times per post). "
        "Members are those seen in the community (observed membership). A side with fewer than "
        f"{data.min_group_size} active members in a week is not shown.",
        panels,
        legend=legend,
        columns=min(3, len(panels)),
    )


def _chart_lift(data: ReportData) -> _Figure:
    series = []
    for k, brand in enumerate(_brands(data)):
        points = [
            IntervalPoint(
                r.week_start,
                r.lift,
                r.lift_lower,
                r.lift_upper,
                f"small groups got {r.small_group_share:.0%} of the brand's engagement"
                if r.small_group_share is not None
                else "",
            )
            for r in data.lift
            if r.brand_id == brand
            and r.lift is not None
            and r.lift_lower is not None
            and r.lift_upper is not None
        ]
        if points:
            series.append(IntervalSeries(_brand_label(brand), points, PALETTE[k % len(PALETTE)]))
    lifts = [p.value for s in series for p in s.points]
    uppers = sorted(p.upper for s in series for p in s.points)
    # A quiet broad week makes a very wide interval; cutting the axis above most intervals
    # keeps the others readable (cut bars end in an arrow, tooltips keep the exact bounds).
    cap = max(max(lifts, default=1.0) * 1.5, uppers[int(len(uppers) * 0.8)] if uppers else 2.0)
    chart = charts.interval_chart(
        series,
        title="",
        y_format=charts.times,
        y_label="lift (\u00d7 the broad rate)",
        x_label="week starting (Monday, UTC)",
        y_domain=(0.0, charts.nice_ticks(0, cap)[-1]),
        rules=[Rule(1.0, "1\u00d7 = no lift", "#5b6170")],
        width=PANEL_1,
        height=300,
    )
    legend = charts.legend(
        [LegendItem(s.name, s.color, "interval") for s in series]
        + [LegendItem("1\u00d7 = micro and broad members engage alike", "#5b6170", "rule")]
    )
    caption = (
        "marts.fct_brand_engagement_lift.lift: how many times more a member of the brand's "
        "small groups engages per post than a member of its broad channels, with the "
        "conservative 95% interval (micro lower ÷ broad upper, micro upper ÷ broad lower). An "
        "arrow means the bar continues beyond the axis; hover for the exact bounds."
    )
    if lifts:
        caption += (
            f" Median weekly lift across brands: <strong>{statistics.median(lifts):.1f}\u00d7"
            "</strong>."
        )
    return _figure(
        "lift", "Lift per brand: micro ÷ broad, with 95% intervals", caption, [chart], legend=legend
    )


def _chart_retention(data: ReportData) -> _Figure:
    panels: list[tuple[Chart, str]] = []
    for kind, label in (("micro", "Micro communities"), ("broad", "Broad channels")):
        rows = [r for r in data.retention if r.community_kind == kind]
        series = []
        for k, cohort in enumerate(sorted({r.cohort_week for r in rows})):
            cohort_rows = sorted(
                (r for r in rows if r.cohort_week == cohort), key=lambda r: r.weeks_since_join
            )
            size = max(r.cohort_members for r in cohort_rows)
            series.append(
                Series(
                    f"joined week of {charts.day_label(cohort)} ({size:,} members)",
                    [(float(r.weeks_since_join), r.retained_share) for r in cohort_rows],
                    PALETTE[k % len(PALETTE)],
                )
            )
        if not series:
            continue
        last_week = max(r.weeks_since_join for r in rows)
        chart = charts.line_chart(
            series,
            title=label,
            y_format=charts.percent(0),
            tooltip_format=charts.percent(1),
            y_label="share of the cohort active that week",
            x_label="weeks since joining (0 = the join week)",
            x_domain=(0.0, float(max(last_week, 1))),
            y_domain=(0.0, 1.0),
            x_format=lambda v: f"{v:g}",
            width=PANEL_2,
            height=300,
            point_radius=2.8,
        )
        panels.append((chart, _legend_for(series)))
    if not panels:
        panels = [(charts.empty_chart("Retention", "no cohort large enough to show"), "")]
    return _figure(
        "retention",
        "Retention curves per join-week cohort",
        "marts.fct_member_retention: share of each cohort (members whose first join fell in "
        "that week) active in each later week, pooled over the communities of one kind. A "
        f"cohort of fewer than {data.min_group_size} members in a community is left out. The "
        "latest week is still in progress.",
        panels,
        columns=2,
    )


def _chart_brand_voice(data: ReportData) -> _Figure:
    names = _community_names(data)
    limit = data.thresholds.brand_voice_max
    window = data.brand_voice_window
    alert_days: dict[str, int] = defaultdict(int)
    for alert in data.alerts:
        if alert.alert_type == "brand_voice_too_high" and window and window[0] <= alert.day:
            alert_days[alert.community_id] += alert.day <= window[1]
    bars = []
    for row in data.brand_voice:
        community = names.get(row.community_id)
        over = row.share > limit
        is_broad = community is not None and community.kind == "broad"
        label = _community_label(community, row.community_id)
        days = alert_days.get(row.community_id, 0)
        note = f" · {days} alert day{'s' if days != 1 else ''}" if days else ""
        bars.append(
            Bar(
                label,
                row.share,
                ALERT_COLOR if over else (BROAD_COLOR if is_broad else MICRO_COLOR),
                f"{label}: the brand wrote {row.share:.1%} of {row.posts_and_comments:,} posts "
                f"and comments{note}",
                f"{row.share:.0%}{note}",
            )
        )
    chart = charts.hbar_chart(
        bars,
        title="",
        subtitle=(
            f"{charts.day_label(window[0])} \u2013 {charts.day_label(window[1])} "
            f"(last {BRAND_VOICE_WINDOW_DAYS} days)"
            if window
            else ""
        ),
        x_format=charts.percent(0),
        x_label="share of posts and comments written by the brand or its moderators",
        x_domain=(0.0, 1.0),
        threshold=Rule(limit, f"alert threshold {limit:.0%}"),
        width=PANEL_1,
        label_width=250,
    )
    legend = charts.legend(
        [
            LegendItem("micro community", MICRO_COLOR, "bar"),
            LegendItem("broad channel", BROAD_COLOR, "bar"),
            LegendItem("above the threshold over the window", ALERT_COLOR, "bar"),
            LegendItem(f"brand_voice_too_high threshold ({limit:.0%})", ALERT_COLOR, "rule"),
        ]
    )
    return _figure(
        "brand_voice",
        "Brand voice share per community",
        "marts.fct_community_daily.brand_voice_share over the window's shown days, each day "
        "weighted by its posts and comments. The publisher raises brand_voice_too_high on a day "
        f"above the dashed line with at least {data.thresholds.min_items} posts and comments; "
        "'alert days' counts those days in the window.",
        [chart],
        legend=legend,
    )


def _chart_feedback(data: ReportData) -> tuple[_Figure, _Figure, _Figure]:
    ideas = data.ideas
    total = len(ideas)
    answered = sum(1 for i in ideas if i.hours_to_first_response is not None)
    decided = sum(1 for i in ideas if i.decision_status is not None)
    said_yes = sum(1 for i in ideas if i.decision_status in ("accepted", "implemented"))
    implemented = sum(1 for i in ideas if i.current_status == "implemented")
    funnel = charts.funnel_chart(
        [
            ("Submitted", total),
            ("Answered by the brand", answered),
            ("Decided", decided),
            ("Accepted or implemented", said_yes),
            ("Implemented (now)", implemented),
        ],
        title="",
        width=PANEL_2,
    )
    funnel_fig = _figure(
        "feedback_funnel",
        f"Feedback funnel ({total:,} ideas)",
        "marts.fct_feedback_ideas. Answered: a status change or a brand/moderator comment. "
        "Decided: first accepted, implemented or declined. Percentages of all ideas submitted.",
        [funnel],
    )
    counts = {status: 0 for status in IDEA_STATUSES}
    for idea in ideas:
        counts[idea.current_status] = counts.get(idea.current_status, 0) + 1
    colours = {
        "submitted": "#9498a0",
        "under_review": "#efb118",
        "accepted": "#3ca951",
        "implemented": "#1f7a3a",
        "declined": ALERT_COLOR,
    }
    bars = [
        Bar(
            status.replace("_", " "),
            float(n),
            colours.get(status, MICRO_COLOR),
            f"{status}: {n:,} ideas ({n / total:.0%})",
            f"{n:,} · {n / total:.0%}",
        )
        for status, n in counts.items()
        if total
    ]
    status_fig = _figure(
        "feedback_status",
        "Ideas by current status",
        "marts.fct_feedback_ideas.current_status: the last status set ('submitted' before any).",
        [
            charts.hbar_chart(
                bars,
                title="",
                x_format=charts.number(0),
                x_label="ideas",
                width=PANEL_2,
                row_height=36,
                label_width=120,
            )
        ],
    )
    first = _bucket_counts(i.hours_to_first_response for i in ideas)
    decision = _bucket_counts(i.hours_to_decision for i in ideas)
    response_chart = charts.column_chart(
        [label for label, _ in RESPONSE_BUCKETS],
        [
            ColumnSeries("first brand response", first, MICRO_COLOR),
            ColumnSeries("decision", decision, "#3ca951"),
        ],
        title="",
        y_format=charts.number(0),
        y_label="ideas",
        x_label="time after submission",
        width=PANEL_1,
        height=270,
    )
    response_hours = [i.hours_to_first_response for i in ideas if i.hours_to_first_response]
    decision_hours = [i.hours_to_decision for i in ideas if i.hours_to_decision]
    caption = (
        "marts.fct_feedback_ideas.hours_to_first_response and hours_to_decision: the brand's "
        "own behaviour, shown even for small communities."
    )
    if response_hours:
        caption += (
            f" Median first response <strong>{_hours(statistics.median(response_hours))}</strong>"
        )
        if decision_hours:
            caption += (
                f", median decision <strong>{_hours(statistics.median(decision_hours))}</strong>"
            )
        caption += f"; {total - answered:,} idea(s) not answered yet."
    response_fig = _figure(
        "response_times",
        "Feedback response times",
        caption,
        [response_chart],
        legend=charts.legend(
            [
                LegendItem("first brand response", MICRO_COLOR, "bar"),
                LegendItem("decision (accepted, implemented or declined)", "#3ca951", "bar"),
            ]
        ),
    )
    return funnel_fig, status_fig, response_fig


def _bucket_counts(hours: Iterable[float | None]) -> list[float]:
    counts = [0.0] * len(RESPONSE_BUCKETS)
    for value in hours:
        if value is None:
            continue
        for k, (_, limit) in enumerate(RESPONSE_BUCKETS):
            if value < limit:
                counts[k] += 1
                break
    return counts


def _hours(value: float) -> str:
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


def _chart_sentiment(data: ReportData) -> _Figure:
    names = _community_names(data)
    values: dict[str, dict[date, float]] = defaultdict(dict)
    negative: dict[tuple[str, date], float | None] = {}
    for row in data.daily:
        if row.avg_sentiment is not None:
            values[row.community_id][row.day] = row.avg_sentiment
        negative[(row.community_id, row.day)] = row.negative_share
    spikes = [a for a in data.alerts if a.alert_type == "negative_sentiment_spike"]
    panels: list[tuple[Chart, str]] = []
    for brand, series in _per_brand_series(data, values, step=1):
        members = {s.name for s in series}
        markers = []
        for alert in spikes:
            label = _community_label(names.get(alert.community_id), alert.community_id)
            y = values.get(alert.community_id, {}).get(alert.day)
            if label not in members or y is None:
                continue
            share = negative.get((alert.community_id, alert.day))
            detail = f", {share:.0%} of posts and comments negative" if share is not None else ""
            markers.append(
                Marker(
                    alert.day,
                    y,
                    f"negative_sentiment_spike ({alert.severity}) · {label} · "
                    f"{charts.day_label(alert.day)}{detail}",
                )
            )
        chart = charts.line_chart(
            series,
            title=_brand_label(brand),
            y_format=charts.signed(1),
            tooltip_format=charts.signed(2),
            y_label="mean sentiment (\u22121 … +1)",
            x_label="day (UTC)",
            y_domain=(-1.0, 1.0),
            rules=[Rule(0.0, "neutral", "#8b93a3")],
            markers=markers,
            width=PANEL_1,
            height=250,
            point_radius=1.9,
        )
        panels.append((chart, _legend_for(series)))
    if not panels:
        panels = [(charts.empty_chart("Sentiment", "no community-day shown"), "")]
    recent = sorted(spikes, key=lambda a: (a.day, a.community_id), reverse=True)
    rows = "".join(
        f"<tr><td>{esc(f'{a.day:%Y-%m-%d}')}</td>"
        f"<td>{esc(_community_label(names.get(a.community_id), a.community_id))}</td>"
        f"<td>{esc(a.severity)}</td>"
        f"<td>{_share_text(negative.get((a.community_id, a.day)))}</td></tr>"
        for a in recent[:ALERT_TABLE_ROWS]
    )
    more = len(recent) - ALERT_TABLE_ROWS
    table = (
        '<table class="alerts"><caption>Latest negative-sentiment alerts</caption><thead><tr>'
        "<th>day</th><th>community</th><th>severity</th><th>negative share that day</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
        + (
            f'<p class="note">… and {more} earlier alert(s), all marked above.</p>'
            if more > 0
            else ""
        )
        if rows
        else '<p class="note">No negative-sentiment alert in the period.</p>'
    )
    t = data.thresholds
    return _figure(
        "sentiment",
        "Sentiment over time, with negative-sentiment alerts",
        "marts.fct_community_daily.avg_sentiment: mean sentiment of the day's posts and comments "
        "(sent by the platform, else the VADER compound score of the text). Red triangles: "
        f"negative_sentiment_spike alerts: a day with at least {t.min_items} posts and comments "
        f"of which at least {t.negative_share_min:.0%} are negative, {t.negative_spike_delta:.0%}"
        f" points or more above the previous {t.baseline_days} days. Source: "
        f"{esc(data.alerts_source)}.",
        panels,
        legend=charts.legend(
            [
                LegendItem("negative_sentiment_spike alert", ALERT_COLOR, "marker"),
                LegendItem("neutral (0)", "#8b93a3", "rule"),
            ]
        ),
        after=table,
    )


def _share_text(value: float | None) -> str:
    """A share as a percentage; one decimal below 10% so a small share never reads as 0%."""
    if value is None:
        return ""
    return f"{value:.1%}" if 0 < value < 0.1 else f"{value:.0%}"


def _chart_dead_letters(data: ReportData) -> _Figure:
    source = esc(data.dead_letters_source)
    if data.dead_letters is None:
        chart = charts.empty_chart("", "not readable with this connection", width=PANEL_2)
        return _figure(
            "dead_letters", "Dead letters by reason", f"Source: {source}.", [chart], empty_ok=True
        )
    counts = {reason: 0 for reason in DEAD_LETTER_REASONS}
    for row in data.dead_letters:
        counts[row.reason] = row.count
    total = sum(counts.values())
    bars = [
        Bar(
            reason,
            float(n),
            "#e8590c",
            f"{reason}: {n:,} dead letters ({n / total:.1%} of them)",
            f"{n:,} · {_share_text(n / total)}",
        )
        for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if n
    ]
    chart = charts.hbar_chart(
        bars,
        title="",
        x_format=charts.number(0),
        x_label="messages rejected at ingest",
        width=PANEL_2,
        row_height=32,
        label_width=150,
    )
    if not bars:
        chart = charts.empty_chart("", "no dead letters: every message was valid", width=PANEL_2)
    messages = total + (data.events_stored or 0)
    first = min((r.first_received_at for r in data.dead_letters), default=None)
    last = max((r.last_received_at for r in data.dead_letters), default=None)
    facts = [
        ("dead letters", f"{total:,}"),
        ("share of stored messages", f"{total / messages:.2%}" if messages else "\u2013"),
        ("valid events in raw", f"{data.events_stored or 0:,}"),
        ("replayed", f"{sum(r.replayed for r in data.dead_letters):,}"),
        ("first received", f"{first:%Y-%m-%d %H:%M} UTC" if first else "\u2013"),
        ("last received", f"{last:%Y-%m-%d %H:%M} UTC" if last else "\u2013"),
        ("reasons with none", ", ".join(r for r, n in counts.items() if not n) or "\u2013"),
    ]
    facts_html = (
        '<dl class="facts">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
        + "</dl>"
    )
    return _figure(
        "dead_letters",
        "Dead letters by reason",
        "Messages the ingest consumer rejected; each also went to the dead-letter topic with "
        f"its reason. Source: {source}.",
        [(chart, facts_html)],
        columns=1,
        empty_ok=True,  # no dead letter at all is good news, not a broken chart
    )


def _kpis(data: ReportData) -> str:
    micro = sum(1 for c in data.communities if c.kind == "micro")
    broad = sum(1 for c in data.communities if c.kind == "broad")
    members = sum(c.members_current or 0 for c in data.communities if not c.is_suppressed)
    lifts = [r.lift for r in data.lift if r.lift is not None]
    answered = [i.hours_to_first_response for i in data.ideas if i.hours_to_first_response]
    dead = sum(r.count for r in data.dead_letters) if data.dead_letters is not None else None
    spikes = sum(1 for a in data.alerts if a.alert_type == "negative_sentiment_spike")
    voice = len({a.community_id for a in data.alerts if a.alert_type == "brand_voice_too_high"})
    tiles = [
        ("Communities", f"{len(data.communities):,}", f"{micro} micro · {broad} broad"),
        ("Members now", f"{members:,}", "in communities large enough to show"),
        (
            "Median weekly lift",
            f"{statistics.median(lifts):.1f}\u00d7" if lifts else "\u2013",
            "micro vs broad engagement per member and post",
        ),
        (
            "Ideas answered",
            f"{len(answered) / len(data.ideas):.0%}" if data.ideas else "\u2013",
            f"median first response {_hours(statistics.median(answered))}"
            if answered
            else "no answer yet",
        ),
        (
            "Sentiment alerts",
            f"{spikes:,}",
            f"{voice} communit{'y' if voice == 1 else 'ies'} with brand-voice alerts",
        ),
        (
            "Dead letters",
            f"{dead:,}" if dead is not None else "\u2013",
            "messages rejected at ingest" if dead is not None else "raw not readable",
        ),
    ]
    return (
        '<section class="kpis">'
        + "".join(
            f'<div class="kpi"><div class="kpi-label">{esc(label)}</div>'
            f'<div class="kpi-value">{esc(value)}</div>'
            f'<div class="kpi-note">{esc(note)}</div></div>'
            for label, value, note in tiles
        )
        + "</section>"
    )


def render_report(data: ReportData) -> tuple[str, dict[str, int], list[str]]:
    """The page, the data points of each chart, and the charts that may be empty."""
    engagement = _chart_engagement(data)
    micro_vs_broad = _chart_micro_vs_broad(data)
    lift = _chart_lift(data)
    retention = _chart_retention(data)
    brand_voice = _chart_brand_voice(data)
    funnel, status, response = _chart_feedback(data)
    sentiment = _chart_sentiment(data)
    dead_letters = _chart_dead_letters(data)
    figures = [
        engagement,
        micro_vs_broad,
        lift,
        retention,
        brand_voice,
        funnel,
        status,
        response,
        sentiment,
        dead_letters,
    ]
    sections = [
        (
            "engagement",
            "Engagement: small groups vs broad channels",
            "How much members engage per post in each community, and how sure we are that a "
            "brand's small groups beat its broad audience.",
            [engagement.html, micro_vs_broad.html, lift.html],
        ),
        ("retention", "Retention: do members stay?", "", [retention.html]),
        (
            "voice",
            "Brand voice: is the brand talking more than its members?",
            "",
            [brand_voice.html],
        ),
        (
            "feedback",
            "Feedback portal",
            "What members ask for, what the brand decides, and how fast it answers.",
            [f'<div class="two">{funnel.html}{status.html}</div>', response.html],
        ),
        ("sentiment", "Sentiment", "", [sentiment.html]),
        ("quality", "Data quality at ingest", "", [dead_letters.html]),
    ]
    period = (
        f"{data.first_day:%d %b %Y} \u2013 {data.last_day:%d %b %Y} (UTC days)"
        if data.first_day and data.last_day
        else "no days yet"
    )
    body = "".join(
        f'<section class="card" id="{sid}"><h2>{esc(title)}</h2>'
        + (f'<p class="lead">{esc(lead)}</p>' if lead else "")
        + "".join(parts)
        + "</section>"
        for sid, title, lead, parts in sections
    )
    points = {f.chart_id: f.points for f in figures}
    page = _PAGE.format(
        period=esc(period),
        generated=esc(f"{data.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"),
        kpis=_kpis(data),
        body=body,
        footer=_footer(data),
        style=_STYLE,
        head_script=_HEAD_SCRIPT,
        check_script=_CHECK_SCRIPT,
        points=esc(json.dumps(points)),
    )
    return page, points, [f.chart_id for f in figures if f.empty_ok]


def _footer(data: ReportData) -> str:
    build = esc(data.build) if data.build else "no promotion note on the views"
    items = [
        "<li><strong>Marts</strong>: every chart except the dead-letter summary reads the views "
        f"of schema <code>{MARTS_SCHEMA}</code> over a read-only connection after "
        f"<code>SET ROLE {BI_ROLE}</code> (current_user: <code>{esc(data.read_as)}</code>), so "
        f"BI-level access is enough for all of them. The views showed: {build}.</li>",
        f"<li><strong>Dead-letter summary</strong>: {esc(data.dead_letters_source)}.</li>",
        f"<li><strong>Alert markers</strong>: {esc(data.alerts_source)}.</li>",
        f"<li><strong>Privacy</strong>: a period with fewer than {data.min_group_size} active "
        "members carries no member-derived figure in the marts (is_suppressed); it is a gap "
        "here, never a zero. No member key and no text is read.</li>",
        "<li>Self-contained page: inline SVG, styles and script, nothing fetched when it is "
        "opened. Hover a point for its exact value.</li>",
    ]
    return "<ul>" + "".join(items) + "</ul>"


_STYLE = """
:root { --text: #1f2430; --muted: #5b6170; --bg: #f3f4f7; --card: #fff; --line: #e3e6eb;
  --accent: #4269d0; --alert: #d62728; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans",
  "DejaVu Sans", sans-serif; }
header { background: #1d2740; color: #fff; padding: 26px 0 22px; }
header .inner, main, footer .inner { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0; color: #c9d1e6; }
main { padding-top: 18px; padding-bottom: 8px; }
.kpis { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 12px; }
.kpi { background: var(--card); border-radius: 10px; padding: 12px 14px;
  box-shadow: 0 1px 2px rgba(20, 30, 60, .08); border-top: 3px solid var(--accent); }
.kpi-label { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .4px; }
.kpi-value { font-size: 26px; font-weight: 650; margin: 2px 0; }
.kpi-note { color: var(--muted); font-size: 12px; }
.card { background: var(--card); border-radius: 12px; padding: 18px 22px 20px; margin: 18px 0;
  box-shadow: 0 1px 2px rgba(20, 30, 60, .08); }
.card h2 { margin: 0 0 4px; font-size: 20px; }
.lead { margin: 0 0 6px; color: var(--muted); }
figure.chart { margin: 16px 0 8px; }
figure.chart h3 { margin: 0 0 4px; font-size: 15px; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 6px; max-width: 1000px; }
.panels { display: grid; gap: 10px 18px; }
.cols-1 { grid-template-columns: minmax(0, 1fr); }
.cols-2 { grid-template-columns: repeat(2, minmax(0, 1fr)); }
.cols-3 { grid-template-columns: repeat(3, minmax(0, 1fr)); }
.panel > svg { width: 100%; height: auto; display: block; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 3px 16px; padding: 0;
  margin: 4px 0 6px; font-size: 12px; }
.panel .legend { padding-left: 58px; }
.legend li { display: flex; align-items: center; gap: 5px; }
.legend-note { color: var(--muted); }
.two { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 24px; }
table.alerts { border-collapse: collapse; margin-top: 12px; font-size: 12.5px; }
table.alerts caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
table.alerts th, table.alerts td { text-align: left; padding: 3px 16px 3px 0;
  border-bottom: 1px solid var(--line); }
table.alerts th { color: var(--muted); font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px;
  font-size: 12.5px; margin: 10px 0 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
#chart-dead_letters .panel { display: grid; grid-template-columns: 590px 1fr; gap: 24px;
  align-items: start; }
.note { color: var(--muted); font-size: 12.5px; margin: 4px 0 0; }
footer { color: var(--muted); font-size: 12.5px; padding: 4px 0 30px; }
footer ul { margin: 6px 0 0; padding-left: 18px; }
footer code { font-size: 12px; }
#js-errors { background: #fff0f0; color: var(--alert); padding: 8px 12px; }
@media (max-width: 980px) {
  .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .cols-2, .cols-3, .two, #chart-dead_letters .panel { grid-template-columns: minmax(0, 1fr); }
}
@media print { body { background: #fff; } .card { box-shadow: none; break-inside: avoid; } }
"""

# First thing on the page: from here on, any script error is written into the DOM.
_HEAD_SCRIPT = """
(function () {
  var errors = [];
  function record(message) {
    errors.push(String(message));
    document.documentElement.setAttribute('data-js-errors', String(errors.length));
    var box = document.getElementById('js-errors');
    if (box) { box.textContent = errors.join('\\n'); box.hidden = false; }
  }
  window.onerror = function (message, source, line) { record(message + ' (line ' + line + ')'); };
  window.addEventListener('unhandledrejection', function (e) { record(e.reason); });
  window.pulseRecordError = record;
})();
"""

# Last thing on the page: count what each chart drew and say whether the page is whole.
_CHECK_SCRIPT = """
(function () {
  var figures = document.querySelectorAll('figure[data-chart]');
  var counts = {}, empty = [];
  figures.forEach(function (figure) {
    var name = figure.getAttribute('data-chart');
    var drawn = figure.querySelectorAll('.pt').length;
    counts[name] = drawn;
    if (String(drawn) !== figure.getAttribute('data-points')) {
      window.pulseRecordError('chart ' + name + ' drew ' + drawn + ' points, expected '
        + figure.getAttribute('data-points'));
    }
    if (drawn === 0 && !figure.hasAttribute('data-empty-ok')) { empty.push(name); }
  });
  var errors = document.documentElement.getAttribute('data-js-errors') || '0';
  var body = document.body;
  body.setAttribute('data-chart-counts', JSON.stringify(counts));
  body.setAttribute('data-empty-charts', empty.join(','));
  body.setAttribute('data-js-errors', errors);
  body.setAttribute('data-js-ok',
    figures.length > 0 && empty.length === 0 && errors === '0' ? 'true' : 'false');
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
  content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>Community Pulse report</title>
<script>{head_script}</script>
<style>{style}</style>
</head>
<body data-expected-points="{points}">
<header><div class="inner"><h1>Community Pulse</h1>
<p>Micro-community engagement · {period} · generated {generated}</p></div></header>
<main>
<pre id="js-errors" hidden></pre>
{kpis}
{body}
</main>
<footer><div class="inner"><strong>Where these figures come from</strong>{footer}</div></footer>
<script>{check_script}</script>
</body>
</html>
"""
