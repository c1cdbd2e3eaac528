"""Reading the marts exactly as a BI tool does: `SET ROLE pulse_bi`, views of schema `marts`.

If these reads succeed, BI-level access is enough for every figure drawn from the marts. Every
read of a mart goes through the one connection `connect_to_marts` opens, so the role it acts
as is chosen in one place (pulse_bi by default; a role that sees fewer rows sees fewer here).
"""

from __future__ import annotations

from datetime import date

from psycopg import Connection, OperationalError, sql

from pulse.report.data import (
    Community,
    DailyFigures,
    Idea,
    Incident,
    LiftWeek,
    RetentionPoint,
    TopicWeek,
    WeeklyEngagement,
)
from pulse.report.errors import ReportError
from pulse.report.read.query import as_float, scalar
from pulse.warehouse.connect import RoleUnavailable, connect
from pulse.warehouse.names import BI_ROLE, MARTS_SCHEMA

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
    # in the order of `Incident`'s fields
    "fct_alert_incidents": (
        "community_id",
        "brand_id",
        "idea_id",
        "alert_type",
        "status",
        "severity",
        "resolution",
        "metric",
        "observed",
        "baseline",
        "days_held",
        "peak_on",
        "opened_at",
        "last_seen_at",
        "resolved_at",
    ),
    # in the order of `TopicWeek`'s fields
    "fct_community_topics_weekly": (
        "community_id",
        "week_start",
        "tag",
        "posts",
        "engagements",
        "share_of_posts",
        "engagements_per_post",
        "posts_previous_4_weeks_avg",
        "is_rising",
    ),
}


def _mart(name: str) -> sql.Composed:
    return sql.SQL("{}").format(sql.Identifier(MARTS_SCHEMA, name))


def connect_to_marts(dsn: str, role: str = BI_ROLE) -> Connection:
    """A read-only connection acting as `role`, once every mart the report reads is there.

    Args:
        dsn: warehouse connection string of a role that is, or may act as, `role`.
        role: the role the marts are read as (pulse_bi: every brand's rows).

    Returns:
        The open connection (the caller closes it).

    Raises:
        ReportError: the warehouse cannot be reached, the login may not act as `role`, or
            `role` sees no view of one of the marts (not published yet).
    """
    try:
        conn = connect(dsn, role=role, read_only=True)
    except OperationalError as error:
        raise ReportError(f"cannot connect to the warehouse: {error}".strip()) from None
    except RoleUnavailable:
        raise ReportError(
            f"the report reads marts as {role}, and this DSN's user may not act as it "
            f"(connect as {role}, or as a role granted {role})"
        ) from None
    missing = []
    for mart in COLUMNS_READ:
        row = conn.execute("select to_regclass(%s)", [f"{MARTS_SCHEMA}.{mart}"]).fetchone()
        if row is None or row[0] is None:
            missing.append(mart)
    if missing:
        conn.close()
        raise ReportError(
            f"{role} sees no {', '.join(f'{MARTS_SCHEMA}.{m}' for m in missing)}: run the "
            "pipeline (dbt build, marts gate, promote) first"
        )
    return conn


def read_build(conn: Connection) -> str | None:
    """The promotion note on the views: which build they show, and that it was validated."""
    return scalar(
        conn,
        "select obj_description(to_regclass(%s), 'pg_class')",
        [f"{MARTS_SCHEMA}.fct_community_daily"],
    )


def read_communities(conn: Connection) -> list[Community]:
    """Every community, by brand, micro before broad."""
    return [
        Community(r[0], r[1], r[2] or r[0], r[3], bool(r[4]), r[5])
        for r in conn.execute(
            sql.SQL(
                "select community_id, brand_id, community_name, community_kind, "
                "is_suppressed, members_current from {} "
                "order by brand_id, community_kind desc, community_id"
            ).format(_mart("dim_community"))
        )
    ]


def read_daily(conn: Connection) -> list[DailyFigures]:
    """Every shown community-day, in day order per community."""
    return [
        DailyFigures(r[0], r[1], int(r[2] or 0), int(r[3] or 0), *map(as_float, r[4:]))
        for r in conn.execute(
            sql.SQL(
                "select community_id, activity_date, posts, comments, engagements_per_post, "
                "brand_voice_share, avg_sentiment, negative_share from {} "
                "where not is_suppressed order by community_id, activity_date"
            ).format(_mart("fct_community_daily"))
        )
    ]


def read_period(conn: Connection) -> tuple[date | None, date | None]:
    """The first and last day of fct_community_daily, suppressed days included."""
    bounds = conn.execute(
        sql.SQL("select min(activity_date), max(activity_date) from {}").format(
            _mart("fct_community_daily")
        )
    ).fetchone()
    return (bounds[0], bounds[1]) if bounds else (None, None)


def read_weekly_engagement(conn: Connection) -> list[WeeklyEngagement]:
    """Each community's engagement rate per week, pooled over the week's shown days."""
    # sum(engagements) / sum(posts x members at the start of the day): each day weighs by its
    # opportunities, so a quiet day cannot swing the week's rate. Only days that show both (a
    # day after a suppressed one hides members_at_start), so both sums cover the same days.
    return [
        WeeklyEngagement(r[0], r[1], float(r[2]))
        for r in conn.execute(
            sql.SQL(
                "select community_id, date_trunc('week', activity_date)::date, "
                "sum(engagements)::float8 / sum(posts * members_at_start) "
                "from {} where not is_suppressed and members_at_start is not null "
                "group by 1, 2 having sum(posts * members_at_start) > 0 order by 1, 2"
            ).format(_mart("fct_community_daily"))
        )
    ]


def read_lift(conn: Connection) -> list[LiftWeek]:
    """Every brand-week of fct_brand_engagement_lift, suppressed ones included."""
    return [
        LiftWeek(r[0], r[1], bool(r[2]), r[3], r[4], *map(as_float, r[5:]))
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


def read_retention(conn: Connection) -> list[RetentionPoint]:
    """Each join-week cohort's retention, pooled over the communities of one kind."""
    # Every row of a shown (community, cohort) has the same cohort_members, so pooling the
    # shown ones is consistent.
    return [
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


def read_ideas(conn: Connection) -> list[Idea]:
    """Every idea of the feedback portal."""
    return [
        Idea(r[0], r[1], r[2], as_float(r[3]), as_float(r[4]))
        for r in conn.execute(
            sql.SQL(
                "select community_id, current_status, decision_status, "
                "hours_to_first_response, hours_to_decision from {}"
            ).format(_mart("fct_feedback_ideas"))
        )
    ]


def _select(mart: str) -> sql.Composed:
    """`select <the columns COLUMNS_READ lists> from marts.<mart>`."""
    return sql.SQL("select {} from {}").format(
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS_READ[mart])), _mart(mart)
    )


def read_incidents(conn: Connection) -> list[Incident]:
    """Every incident, open or resolved, in opening order."""
    return [
        Incident(*r[:8], as_float(r[8]), as_float(r[9]), int(r[10]), *r[11:])
        for r in conn.execute(
            sql.SQL("{} order by opened_at, community_id, alert_type, idea_id").format(
                _select("fct_alert_incidents")
            )
        )
    ]


def read_topics(conn: Connection) -> list[TopicWeek]:
    """Every community-week-tag (a week too small to show has no row), in week order."""
    return [
        TopicWeek(
            r[0],
            r[1],
            r[2],
            int(r[3]),
            None if r[4] is None else int(r[4]),
            *map(as_float, r[5:8]),
            bool(r[8]),
        )
        for r in conn.execute(
            sql.SQL("{} order by week_start, community_id, tag").format(
                _select("fct_community_topics_weekly")
            )
        )
    ]
