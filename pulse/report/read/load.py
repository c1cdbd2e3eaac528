"""Reading every figure of the report into one `ReportData`: marts first, then what BI may not see.

When no alert has been published, the alert markers are computed here with the publisher's own
rules, and the page says so.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pulse.publishing.alerts import AlertThresholds
from pulse.report.data import ReportData
from pulse.report.derived import brand_voice_window, computed_alerts, pooled_brand_voice
from pulse.report.read.marts import (
    connect_as_bi,
    read_build,
    read_communities,
    read_daily,
    read_ideas,
    read_lift,
    read_period,
    read_retention,
    read_weekly_engagement,
)
from pulse.report.read.operational import read_operational
from pulse.settings import Settings
from pulse.warehouse.connect import current_role


def load_report_data(
    dsn: str,
    *,
    settings: Settings,
    ops_dsn: str | None = None,
    now: datetime | None = None,
) -> ReportData:
    """Read every figure of the report: marts as pulse_bi, dead letters and alerts as ops.

    Args:
        dsn: warehouse connection string of a role that is, or may act as, pulse_bi.
        settings: the run's settings (minimum group size, alert thresholds).
        ops_dsn: connection for what BI may not read (dead letters, published alerts); default
            `dsn`, acting as pulse_transform when it may.
        now: the generation time printed on the page (default: now, UTC).

    Returns:
        The figures, ready to render without a database.

    Raises:
        ReportError: the DSN cannot act as pulse_bi, or `marts` has not been published yet.
    """
    thresholds = AlertThresholds.from_settings(settings)
    with connect_as_bi(dsn) as conn:
        read_as = current_role(conn)
        build = read_build(conn)
        communities = read_communities(conn)
        daily = read_daily(conn)
        first_day, last_day = read_period(conn)
        weekly = read_weekly_engagement(conn)
        lift = read_lift(conn)
        retention = read_retention(conn)
        ideas = read_ideas(conn)
    window = brand_voice_window(last_day)
    ops = read_operational(ops_dsn or dsn)
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
        read_as=read_as,
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
