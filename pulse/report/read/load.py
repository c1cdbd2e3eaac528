"""Reading every figure of the report into one `ReportData`: marts first, then what BI may not see.

The marts, incidents and topics included, are all read over one connection acting as one role;
only the dead letters and the events stored come through the second, operational one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pulse.report.data import Community, ReportData
from pulse.report.derived import brand_voice_window, pooled_brand_voice
from pulse.report.errors import ReportError
from pulse.report.read.marts import (
    connect_to_marts,
    read_build,
    read_communities,
    read_daily,
    read_ideas,
    read_incidents,
    read_lift,
    read_period,
    read_retention,
    read_topics,
    read_weekly_engagement,
)
from pulse.report.read.operational import OperationalData, read_operational
from pulse.settings import Settings
from pulse.warehouse.connect import current_role
from pulse.warehouse.names import BI_ROLE


def load_report_data(
    dsn: str,
    *,
    settings: Settings,
    ops_dsn: str | None = None,
    now: datetime | None = None,
    marts_role: str = BI_ROLE,
    brand: str | None = None,
) -> ReportData:
    """Read every figure of the report: marts as `marts_role`, dead letters as ops.

    Args:
        dsn: warehouse connection string of a role that is, or may act as, `marts_role`.
        settings: the run's settings (minimum group size).
        ops_dsn: connection for what BI may not read (dead letters, events stored); default
            `dsn`, acting as pulse_transform when it may.
        now: the generation time printed on the page (default: now, UTC).
        marts_role: the role every mart is read as (pulse_bi sees every brand).
        brand: a brand's report: `marts_role` is that brand's role, which must see that brand
            only; the operational part (pipeline internals, the operator's) is left out.

    Returns:
        The figures, ready to render without a database.

    Raises:
        ReportError: the DSN cannot act as `marts_role`, or `marts` has not been published yet.
    """
    with connect_to_marts(dsn, marts_role) as conn:
        read_as = current_role(conn)
        build = read_build(conn)
        communities = read_communities(conn)
        daily = read_daily(conn)
        first_day, last_day = read_period(conn)
        weekly = read_weekly_engagement(conn)
        lift = read_lift(conn)
        retention = read_retention(conn)
        ideas = read_ideas(conn)
        incidents = read_incidents(conn)
        topics = read_topics(conn)
    window = brand_voice_window(last_day)
    if brand is not None:
        _require_one_brand(communities, brand, marts_role)
        ops = OperationalData(
            dead_letters_source="not shown in a brand's report (the pipeline's own health is "
            "the operator's)"
        )
    else:
        ops = read_operational(ops_dsn or dsn)
    return ReportData(
        generated_at=now or datetime.now(UTC),
        read_as=read_as,
        build=build,
        min_group_size=settings.min_group_size,
        communities=communities,
        daily=daily,
        weekly_engagement=weekly,
        lift=lift,
        retention=retention,
        brand_voice=pooled_brand_voice(daily, window) if window else [],
        brand_voice_window=window,
        ideas=ideas,
        incidents=incidents,
        topics=topics,
        dead_letters=ops.dead_letters,
        events_stored=ops.events_stored,
        dead_letters_source=ops.dead_letters_source,
        first_day=first_day,
        last_day=last_day,
        brand=brand,
    )


def _require_one_brand(communities: list[Community], brand: str, role: str) -> None:
    """A brand's report shows that brand or nothing: a role that sees others is refused."""
    others = sorted({c.brand_id or "(unknown)" for c in communities} - {brand})
    if others:
        raise ReportError(
            f"{role} sees other brands' rows too ({', '.join(others)}): a brand's report needs a "
            f"role that sees brand {brand} only (`pulse bi grant --brand {brand} --role R`)"
        )
