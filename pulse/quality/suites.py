"""What the quality gates check: the Great Expectations suites of the raw layer and the marts.

This module says *what* is expected, in one place; `pulse.quality.gates` turns it into the
committed Great Expectations project (`python -m pulse.quality build`) and runs it. Every
expectation carries its rule in words (`notes`), which Data Docs,
`quality.validation_results.rule` and the CLI summary show.

Two data sources, both connected at run time only (their connection strings are `${...}`
references that the gate runner fills in memory; nothing is committed):

* `raw_layer`: the run's slice of `raw.community_events` and the interval's volume figures. The
  interval is handed to the queries as session settings (`pulse.gate_interval_start`, ...) on the
  gate's own connection, so the committed queries stay fixed and each run's SQL can use the
  `occurred_at` index.
* `marts_build`: the mart tables of one build, addressed without a schema; the gate's
  connection sets `search_path` to the build schema being validated, and only to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from streaming.contracts import EVENT_TYPES

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

RAW_DATASOURCE = "raw_layer"
MARTS_DATASOURCE = "marts_build"
RAW_EVENTS_ASSET = "raw_events_in_interval"
RAW_VOLUME_ASSET = "raw_interval_volume"
BATCH_DEFINITION = "whole"
RAW_CHECKPOINT = "raw_gate"
MARTS_CHECKPOINT = "marts_gate"

# Session settings the raw queries read; the gate runner sets them on its connection.
GUC_INTERVAL_START = "pulse.gate_interval_start"
GUC_INTERVAL_END = "pulse.gate_interval_end"
GUC_FUTURE_AFTER = "pulse.gate_future_after"
GUC_HISTORY_INTERVALS = "pulse.gate_history_intervals"

# The run's slice of raw: the data interval's events, plus any event dated after the moment of
# validation (+ tolerance). Such an event belongs to no interval validated so far, so it is
# checked by whichever gate runs first instead of hiding until its day comes. Two index ranges
# joined by UNION ALL, not one OR: with OR, PostgreSQL scans every row of raw (10 s instead of
# 0.1 s for a day of 30k events in 1M).
_EVENT_COLUMNS = """    event_id,
    event_type,
    schema_version,
    occurred_at,
    community_id,
    member_key,
    ingested_at"""
_IN_INTERVAL = """occurred_at >= current_setting('pulse.gate_interval_start')::timestamptz
    and occurred_at < current_setting('pulse.gate_interval_end')::timestamptz"""
RAW_EVENTS_QUERY = f"""select
{_EVENT_COLUMNS}
from raw.community_events
where {_IN_INTERVAL}
union all
select
{_EVENT_COLUMNS}
from raw.community_events
where occurred_at > current_setting('pulse.gate_future_after')::timestamptz
    and not ({_IN_INTERVAL})"""

# One row: the interval's event count against the trailing average of the previous N intervals
# of the same length, and the dead-letter share of what arrived during the interval.
# History counts only intervals that start at or after the first event ever stored: the weeks
# before the pipeline existed are "no history", not "zero events". Dead letters have no
# trustworthy occurred_at (many are not even JSON), so the share is measured on the arrival
# axis: dead letters received vs events ingested during the interval. (Great Expectations wants a
# query asset to start with SELECT, hence the outer select.)
RAW_VOLUME_QUERY = """select * from (
with bounds as (
    select
        current_setting('pulse.gate_interval_start')::timestamptz as interval_start,
        current_setting('pulse.gate_interval_end')::timestamptz as interval_end,
        current_setting('pulse.gate_history_intervals')::integer as history_wanted,
        (select min(occurred_at) from raw.community_events) as first_event_at
),
current_interval as (
    select count(*) as interval_events
    from raw.community_events, bounds
    where occurred_at >= bounds.interval_start
        and occurred_at < bounds.interval_end
),
history as (
    select
        count(*) as history_intervals,
        avg(events) as trailing_avg_events
    from (
        select (
            select count(*)
            from raw.community_events
            where occurred_at >= bounds.interval_start
                    - steps.k * (bounds.interval_end - bounds.interval_start)
                and occurred_at < bounds.interval_end
                    - steps.k * (bounds.interval_end - bounds.interval_start)
        ) as events
        from bounds
        cross join generate_series(1, bounds.history_wanted) as steps (k)
        where bounds.interval_start - steps.k * (bounds.interval_end - bounds.interval_start)
            >= bounds.first_event_at
    ) as previous_intervals
),
arrivals as (
    select
        (
            select count(*)
            from raw.community_events, bounds
            where ingested_at >= bounds.interval_start
                and ingested_at < bounds.interval_end
        ) as events_arrived,
        (
            select count(*)
            from raw.dead_letter_events, bounds
            where received_at >= bounds.interval_start
                and received_at < bounds.interval_end
        ) as dead_letters_arrived
)
select
    bounds.interval_start,
    bounds.interval_end,
    current_interval.interval_events,
    history.history_intervals,
    round(history.trailing_avg_events, 2) as trailing_avg_events,
    case
        when history.history_intervals > 0 and history.trailing_avg_events > 0
            then round(current_interval.interval_events / history.trailing_avg_events, 4)
    end as volume_ratio,
    arrivals.events_arrived,
    arrivals.dead_letters_arrived,
    case
        when arrivals.events_arrived + arrivals.dead_letters_arrived > 0
            then round(
                arrivals.dead_letters_arrived::numeric
                / (arrivals.events_arrived + arrivals.dead_letters_arrived),
                4
            )
    end as dead_letter_share
from bounds, current_interval, history, arrivals
) as interval_volume"""

# Runtime values of the `{"$PARAMETER": ...}` references in the suites (see pulse.quality.gates).
PARAM_LATEST_OCCURRED_AT = "latest_allowed_occurred_at"
PARAM_BAND_LOW = "volume_band_low"
PARAM_BAND_HIGH = "volume_band_high"
PARAM_DEAD_LETTER_MAX = "dead_letter_max_share"
PARAM_MIN_GROUP_SIZE = "min_group_size"

# The contract's community_id is `[A-Za-z0-9_.:-]{1,64}`, a member_key 64 hex digits. Each is
# checked as "no character outside the set" plus a length rule: PostgreSQL runs a bounded
# repetition like {1,64} ten times slower (10 s instead of 1 s on 1M rows).
COMMUNITY_ID_FORBIDDEN = r"[^A-Za-z0-9_.:-]"
MEMBER_KEY_FORBIDDEN = r"[^0-9a-f]"


@dataclass(frozen=True)
class Rule:
    """One expectation and the rule it enforces, in words."""

    text: str
    build: Callable[[], Expectation]
    # Columns a SQL-bodied rule reads (the others name theirs in the expectation's kwargs).
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuiteSpec:
    """One expectation suite on one data asset (one validation definition)."""

    name: str
    layer: Literal["raw", "marts"]
    datasource: str
    asset: str
    rules: list[Rule] = field(default_factory=list)
    query: str | None = None  # query asset; else a table asset named `asset`

    def expectations(self) -> list[Expectation]:
        """The suite's expectations, each with its rule as `notes`."""
        built = []
        for rule in self.rules:
            expectation = rule.build()
            expectation.notes = rule.text
            built.append(expectation)
        return built


def _param(name: str) -> dict[str, str]:
    return {"$PARAMETER": name}


# -- building blocks --------------------------------------------------------------------------


def _gxe() -> Any:
    import great_expectations.expectations as gxe

    return gxe


def _suppressed(value: bool) -> Any:
    from great_expectations.expectations.row_conditions import Column

    return Column("is_suppressed") == value


def unique(*columns: str) -> Rule:
    if len(columns) == 1:
        return Rule(
            f"{columns[0]} is unique (the key)",
            lambda: _gxe().ExpectColumnValuesToBeUnique(column=columns[0]),
        )
    return Rule(
        f"({', '.join(columns)}) is unique (the key)",
        lambda: _gxe().ExpectCompoundColumnsToBeUnique(column_list=list(columns)),
    )


def not_null(column: str) -> Rule:
    return Rule(
        f"{column} is never null", lambda: _gxe().ExpectColumnValuesToNotBeNull(column=column)
    )


def share(column: str) -> Rule:
    return Rule(
        f"{column} is a share: within [0, 1]",
        lambda: _gxe().ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1),
    )


def sentiment(column: str) -> Rule:
    return Rule(
        f"{column} is a sentiment: within [-1, 1]",
        lambda: _gxe().ExpectColumnValuesToBeBetween(column=column, min_value=-1, max_value=1),
    )


def at_most(smaller: str, larger: str, text: str | None = None) -> Rule:
    """smaller <= larger on every row where both are shown."""
    return Rule(
        text or f"{smaller} <= {larger}",
        lambda: _gxe().ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=larger,
            column_B=smaller,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
    )


def _flagged_columns(columns: tuple[str, ...], condition: str) -> str:
    """SQL: the names of `columns` whose value meets `condition` ("{}" is the column)."""
    flags = ", ".join(f"case when {condition.format(c)} then '{c}' end" for c in columns)
    return f"array_remove(array[{flags}], null)"


def none_negative(keys: tuple[str, ...], columns: tuple[str, ...]) -> Rule:
    """Every count and non-negative measure of a mart, in one query (rows name the columns)."""
    query = (
        f"select {', '.join(keys)}, {_flagged_columns(columns, '{} < 0')} as negative_columns\n"
        f"from {{batch}}\nwhere " + "\n    or ".join(f"{column} < 0" for column in columns)
    )
    return Rule(
        "counts and measures are not negative (rows name the negative columns)",
        lambda: _gxe().UnexpectedRowsExpectation(
            unexpected_rows_query=query, description="counts and measures are not negative"
        ),
        columns=(*keys, *columns),
    )


def hidden_when_suppressed(keys: tuple[str, ...], columns: tuple[str, ...]) -> Rule:
    """The suppression rule of the privacy contract, in one query (rows name figures shown)."""
    query = (
        f"select {', '.join(keys)}, "
        f"{_flagged_columns(columns, '{} is not null')} as shown_figures\n"
        f"from {{batch}}\nwhere is_suppressed and (\n    "
        + "\n    or ".join(f"{column} is not null" for column in columns)
        + "\n)"
    )
    return Rule(
        "no member figure where is_suppressed (rows name the figures shown anyway)",
        lambda: _gxe().UnexpectedRowsExpectation(
            unexpected_rows_query=query, description="no member figure where is_suppressed"
        ),
        columns=(*keys, "is_suppressed", *columns),
    )


def group_large_enough(column: str, where_shown: bool = True) -> Rule:
    """A figure shown only for groups of at least PULSE_MIN_GROUP_SIZE members."""
    if where_shown:
        return Rule(
            f"{column} >= min_group_size where not is_suppressed",
            lambda: _gxe().ExpectColumnValuesToBeBetween(
                column=column,
                min_value=_param(PARAM_MIN_GROUP_SIZE),
                row_condition=_suppressed(False),
            ),
        )
    return Rule(
        f"{column}, where shown, is >= min_group_size",
        lambda: _gxe().ExpectColumnValuesToBeBetween(
            column=column, min_value=_param(PARAM_MIN_GROUP_SIZE)
        ),
    )


def within_interval(point: str, lower: str, upper: str) -> list[Rule]:
    return [
        at_most(lower, point, f"{lower} <= {point} (the interval contains the estimate)"),
        at_most(point, upper, f"{point} <= {upper} (the interval contains the estimate)"),
    ]


def null_together(keys: tuple[str, ...], estimate: str, lower: str, upper: str) -> Rule:
    """An interval is shown exactly when its estimate is."""
    query = (
        f"select {', '.join(keys)}, {estimate}, {lower}, {upper}\nfrom {{batch}}\n"
        f"where ({estimate} is null) <> ({lower} is null)\n"
        f"    or ({estimate} is null) <> ({upper} is null)"
    )
    return Rule(
        f"{lower} and {upper} are null exactly when {estimate} is",
        lambda: _gxe().UnexpectedRowsExpectation(
            unexpected_rows_query=query,
            description=f"the interval of {estimate} is shown exactly when it is",
        ),
        columns=(*keys, estimate, lower, upper),
    )


def in_set(column: str, values: list[str]) -> Rule:
    return Rule(
        f"{column} is one of {', '.join(values)}",
        lambda: _gxe().ExpectColumnValuesToBeInSet(column=column, value_set=values),
    )


def _keys(*columns: str) -> list[Rule]:
    return [*(not_null(column) for column in columns), unique(*columns)]


# -- raw ----------------------------------------------------------------------------------------


def raw_suites() -> list[SuiteSpec]:
    """The raw gate: the interval's events follow the inbound contract; the volume is plausible."""
    gxe = _gxe

    def member_key_where_required() -> Any:
        from great_expectations.expectations.row_conditions import Column

        return gxe().ExpectColumnValuesToNotBeNull(
            column="member_key", row_condition=Column("event_type") != "community.upserted"
        )

    events = SuiteSpec(
        name="raw_events",
        layer="raw",
        datasource=RAW_DATASOURCE,
        asset=RAW_EVENTS_ASSET,
        query=RAW_EVENTS_QUERY,
        rules=[
            not_null("event_id"),
            unique("event_id"),
            not_null("event_type"),
            in_set("event_type", sorted(EVENT_TYPES)),
            Rule(
                "schema_version is 1",
                lambda: gxe().ExpectColumnValuesToBeInSet(column="schema_version", value_set=[1]),
            ),
            not_null("occurred_at"),
            Rule(
                "occurred_at is not in the future (beyond the ingest tolerance)",
                lambda: gxe().ExpectColumnValuesToBeBetween(
                    column="occurred_at", max_value=_param(PARAM_LATEST_OCCURRED_AT)
                ),
            ),
            not_null("community_id"),
            Rule(
                "community_id uses only the characters A-Z a-z 0-9 _ . : -",
                lambda: gxe().ExpectColumnValuesToNotMatchRegex(
                    column="community_id", regex=COMMUNITY_ID_FORBIDDEN
                ),
            ),
            Rule(
                "community_id is 1 to 64 characters long",
                lambda: gxe().ExpectColumnValueLengthsToBeBetween(
                    column="community_id", min_value=1, max_value=64
                ),
            ),
            Rule(
                "member_key is present on every event but community.upserted",
                member_key_where_required,
            ),
            Rule(
                "member_key is hex (an HMAC-SHA256, never a raw member id)",
                lambda: gxe().ExpectColumnValuesToNotMatchRegex(
                    column="member_key", regex=MEMBER_KEY_FORBIDDEN
                ),
            ),
            Rule(
                "member_key is 64 characters long (an HMAC-SHA256, never a raw member id)",
                lambda: gxe().ExpectColumnValueLengthsToEqual(column="member_key", value=64),
            ),
        ],
    )
    volume = SuiteSpec(
        name="raw_volume",
        layer="raw",
        datasource=RAW_DATASOURCE,
        asset=RAW_VOLUME_ASSET,
        query=RAW_VOLUME_QUERY,
        rules=[
            Rule(
                "the interval's event count is within the band around the trailing average of "
                "the previous intervals (no silent drop, no surge); not checked without history",
                lambda: gxe().ExpectColumnValuesToBeBetween(
                    column="volume_ratio",
                    min_value=_param(PARAM_BAND_LOW),
                    max_value=_param(PARAM_BAND_HIGH),
                ),
            ),
            Rule(
                "dead letters are under the maximum share of what arrived during the interval",
                lambda: gxe().ExpectColumnValuesToBeBetween(
                    column="dead_letter_share",
                    min_value=0,
                    max_value=_param(PARAM_DEAD_LETTER_MAX),
                ),
            ),
        ],
    )
    return [events, volume]


# -- marts --------------------------------------------------------------------------------------

_DAILY_KEY = ("community_id", "activity_date")
_DAILY_COUNTS = (
    "members_total",
    "members_new",
    "members_new_observed",
    "members_left",
    "members_at_start",
    "active_members",
    "wau",
    "mau",
    "posts",
    "comments",
    "reactions",
    "shares",
    "ugc_posts",
    "brand_posts",
    "engagements",
)
_DAILY_MEASURES = ("engagements_per_post", "engagement_rate", "median_first_response_minutes")
_DAILY_SHARES = ("stickiness", "brand_voice_share", "negative_share")

# MAU counts members who left during the 30 days, so it may exceed members_total (seen on clean
# data); every member active in the window was active at some time, so MAU can never exceed the
# community's members ever active.
_MAU_ABOVE_EVER_ACTIVE = """select daily.community_id, daily.activity_date, daily.mau,
    community.active_members_all_time
from {batch} as daily
inner join dim_community as community on community.community_id = daily.community_id
where daily.mau > community.active_members_all_time"""


def _mart(name: str, rules: list[Rule]) -> SuiteSpec:
    return SuiteSpec(
        name=f"marts_{name}", layer="marts", datasource=MARTS_DATASOURCE, asset=name, rules=rules
    )


def _community_daily() -> SuiteSpec:
    return _mart(
        "fct_community_daily",
        [
            *_keys(*_DAILY_KEY),
            not_null("is_suppressed"),
            none_negative(_DAILY_KEY, (*_DAILY_COUNTS, *_DAILY_MEASURES)),
            at_most(
                "active_members",
                "members_total",
                "DAU <= members: whoever is active on a day is a member that day (observed "
                "membership)",
            ),
            at_most("members_at_start", "members_total"),
            at_most("members_new", "members_total"),
            at_most("members_left", "members_total"),
            at_most("members_new_observed", "members_new"),
            at_most(
                "active_members", "wau", "DAU <= WAU: the day's active members are among the week's"
            ),
            at_most("wau", "mau", "WAU <= MAU: the week's active members are among the month's"),
            at_most(
                "active_members",
                "mau",
                "DAU <= MAU: the day's active members are among the month's",
            ),
            Rule(
                "MAU <= members ever active in the community (dim_community)",
                lambda: _gxe().UnexpectedRowsExpectation(
                    unexpected_rows_query=_MAU_ABOVE_EVER_ACTIVE,
                    description="MAU <= members ever active in the community",
                ),
                columns=("community_id", "activity_date", "mau"),
            ),
            at_most("ugc_posts", "posts"),
            at_most("brand_posts", "posts"),
            *(share(column) for column in _DAILY_SHARES),
            sentiment("avg_sentiment"),
            group_large_enough("active_members"),
            hidden_when_suppressed(
                _DAILY_KEY, (*_DAILY_COUNTS, *_DAILY_MEASURES, *_DAILY_SHARES, "avg_sentiment")
            ),
        ],
    )


def _dim_community() -> SuiteSpec:
    figures = ("members_current", "active_members_all_time")
    return _mart(
        "dim_community",
        [
            *_keys("community_id"),
            not_null("is_suppressed"),
            in_set("community_kind", ["broad", "micro"]),
            none_negative(("community_id",), (*figures, "audience_size")),
            at_most(
                "members_current",
                "active_members_all_time",
                "members_current <= members ever active (a membership starts with a join, which "
                "counts as active, or with an action)",
            ),
            group_large_enough("active_members_all_time"),
            hidden_when_suppressed(("community_id",), figures),
        ],
    )


def _brand_engagement_lift() -> SuiteSpec:
    key = ("brand_id", "week_start")
    counts = (
        "micro_communities",
        "broad_communities",
        "micro_active_members",
        "broad_active_members",
        "micro_posts",
        "broad_posts",
        "micro_engagements",
        "broad_engagements",
        "micro_member_post_opportunities",
        "broad_member_post_opportunities",
        # Engagements are counts (a member may engage many times per post): rates, their
        # Poisson bounds and the lift are only non-negative, never shares.
        "micro_engagement_rate",
        "micro_engagement_rate_lower_95",
        "micro_engagement_rate_upper_95",
        "broad_engagement_rate",
        "broad_engagement_rate_lower_95",
        "broad_engagement_rate_upper_95",
        "lift",
        "lift_lower_95",
        "lift_upper_95",
    )
    share_and_bounds = (
        "small_group_engagement_share",
        "small_group_engagement_share_lower_95",
        "small_group_engagement_share_upper_95",
    )
    return _mart(
        "fct_brand_engagement_lift",
        [
            *_keys(*key),
            not_null("is_suppressed"),
            none_negative(key, counts),
            *within_interval(
                "micro_engagement_rate",
                "micro_engagement_rate_lower_95",
                "micro_engagement_rate_upper_95",
            ),
            *within_interval(
                "broad_engagement_rate",
                "broad_engagement_rate_lower_95",
                "broad_engagement_rate_upper_95",
            ),
            *within_interval("lift", "lift_lower_95", "lift_upper_95"),
            *(
                null_together(key, estimate, f"{estimate}_lower_95", f"{estimate}_upper_95")
                for estimate in (
                    "micro_engagement_rate",
                    "broad_engagement_rate",
                    "lift",
                    "small_group_engagement_share",
                )
            ),
            *(share(column) for column in share_and_bounds),
            *within_interval(*share_and_bounds),
            # A side below the threshold shows no member figure; a side shown is large enough.
            group_large_enough("micro_active_members", where_shown=False),
            group_large_enough("broad_active_members", where_shown=False),
            hidden_when_suppressed(
                key, ("lift", "lift_lower_95", "lift_upper_95", *share_and_bounds)
            ),
        ],
    )


def _member_retention() -> SuiteSpec:
    key = ("community_id", "cohort_week", "weeks_since_join")
    counts = ("weeks_since_join", "cohort_members", "retained_members", "still_members")
    shares = ("retained_share", "still_member_share")
    return _mart(
        "fct_member_retention",
        [
            *_keys(*key),
            not_null("is_suppressed"),
            none_negative(key, counts),
            at_most("retained_members", "cohort_members"),
            at_most("still_members", "cohort_members"),
            *(share(column) for column in shares),
            group_large_enough("cohort_members"),
            hidden_when_suppressed(key, (*counts[1:], *shares)),
        ],
    )


def _community_health() -> SuiteSpec:
    key = ("community_id", "week_start")
    counts = (
        "active_members",
        "newcomers",
        "members_at_week_end",
        "inactive_members",
        "casual_members",
        "regular_members",
        "core_members",
        "contributors",
        "contributions",
        "contributors_for_half",
    )
    return _mart(
        "fct_community_health",
        [
            *_keys(*key),
            not_null("is_suppressed"),
            none_negative(key, counts),
            at_most("contributors_for_half", "contributors"),
            at_most("inactive_members", "members_at_week_end"),
            share("contributor_concentration_share"),
            group_large_enough("active_members"),
            hidden_when_suppressed(key, (*counts, "contributor_concentration_share")),
        ],
    )


def _feedback_ideas() -> SuiteSpec:
    key = ("community_id", "idea_id")
    return _mart(
        "fct_feedback_ideas",
        [
            *_keys(*key),
            not_null("is_suppressed"),
            not_null("current_status"),
            in_set(
                "current_status",
                ["accepted", "declined", "implemented", "submitted", "under_review"],
            ),
            none_negative(
                key,
                (
                    "votes_up",
                    "votes_down",
                    "voters",
                    "comments",
                    "hours_to_first_response",
                    "hours_to_decision",
                ),
            ),
            at_most("votes_up", "voters"),
            at_most("votes_down", "voters"),
            share("popularity_score"),
            sentiment("sentiment"),
            hidden_when_suppressed(
                key,
                (
                    "idea_title",
                    "votes_up",
                    "votes_down",
                    "votes_net",
                    "voters",
                    "comments",
                    "popularity_score",
                    "sentiment",
                ),
            ),
        ],
    )


def _feedback_daily() -> SuiteSpec:
    key = ("community_id", "activity_date")
    counts = (
        "active_members",
        "ideas_submitted",
        "votes",
        "votes_up",
        "votes_down",
        "ideas_accepted",
        "ideas_implemented",
        "ideas_declined",
        "median_response_hours",
    )
    return _mart(
        "agg_feedback_daily",
        [
            *_keys(*key),
            not_null("is_suppressed"),
            none_negative(key, counts),
            at_most("votes_up", "votes"),
            at_most("votes_down", "votes"),
            share("acceptance_rate"),
            sentiment("avg_sentiment"),
            group_large_enough("active_members"),
            hidden_when_suppressed(key, (*counts, "acceptance_rate", "avg_sentiment")),
        ],
    )


def marts_suites() -> list[SuiteSpec]:
    """The marts gate: one suite per mart of the build being validated."""
    return [
        _dim_community(),
        _community_daily(),
        _brand_engagement_lift(),
        _member_retention(),
        _community_health(),
        _feedback_ideas(),
        _feedback_daily(),
    ]


def all_suites() -> list[SuiteSpec]:
    return [*raw_suites(), *marts_suites()]
