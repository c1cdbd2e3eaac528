"""The raw gate's suites: the events a run will read follow the inbound contract, and the
interval's volume is plausible.

The data source `raw_layer` is connected at run time only (its connection string is a `${...}`
reference the runner fills in memory; nothing is committed). Its two query assets read the run's
slice of `raw.community_events` and the interval's volume figures. The interval and the arrival
window are handed to the queries as session settings (`pulse.gate_interval_start`, ...) on the
gate's own connection, so the committed queries stay fixed and each run's SQL can use the
`occurred_at` and `ingested_at` indexes.

Which events: those that arrived in the run's arrival window (`ingested_at`, exactly the rows the
run's dbt build will read: late events included, whatever day they occurred on), plus the data
interval's events by `occurred_at` (as before arrival windows: a manual `pulse validate` names
only an interval), plus anything dated in the future. Each is an index range, so the gate reads
what is new, never all of raw.
"""

from __future__ import annotations

from typing import Any

from pulse.quality.rules import Rule, SuiteSpec, gxe, in_set, not_null, param, unique
from streaming.contracts import EVENT_TYPES

RAW_DATASOURCE = "raw_layer"
RAW_EVENTS_ASSET = "raw_events_in_interval"
RAW_VOLUME_ASSET = "raw_interval_volume"
RAW_CHECKPOINT = "raw_gate"

# Session settings the raw queries read; the runner sets them on its connection.
GUC_INTERVAL_START = "pulse.gate_interval_start"
GUC_INTERVAL_END = "pulse.gate_interval_end"
GUC_FUTURE_AFTER = "pulse.gate_future_after"
GUC_HISTORY_INTERVALS = "pulse.gate_history_intervals"
GUC_ARRIVED_FROM = "pulse.gate_arrived_from"
GUC_ARRIVED_THROUGH = "pulse.gate_arrived_through"

# Runtime values of the `{"$PARAMETER": ...}` references in the raw suites; the runner fills them
# from the gate settings and the moment of validation.
PARAM_LATEST_OCCURRED_AT = "latest_allowed_occurred_at"
PARAM_BAND_LOW = "volume_band_low"
PARAM_BAND_HIGH = "volume_band_high"
PARAM_DEAD_LETTER_MAX = "dead_letter_max_share"

# The run's slice of raw: the events that arrived in the arrival window (what the build reads),
# the data interval's events, and any event dated after the moment of validation (+ tolerance):
# such an event belongs to no interval validated so far, so it is checked by whichever gate runs
# first instead of hiding until its day comes. Index ranges joined by UNION ALL, each excluding
# the ones before (an event is validated once per gate), not one OR: with OR, PostgreSQL scans
# every row of raw (10 s instead of 0.1 s for a day of 30k events in 1M). Without an arrival
# window both of its bounds are 'infinity': an empty range.
_EVENT_COLUMNS = """    event_id,
    event_type,
    schema_version,
    occurred_at,
    community_id,
    member_key,
    ingested_at"""
_IN_INTERVAL = """occurred_at >= current_setting('pulse.gate_interval_start')::timestamptz
    and occurred_at < current_setting('pulse.gate_interval_end')::timestamptz"""
_ARRIVED = """ingested_at >= current_setting('pulse.gate_arrived_from')::timestamptz
    and ingested_at < current_setting('pulse.gate_arrived_through')::timestamptz"""
RAW_EVENTS_QUERY = f"""select
{_EVENT_COLUMNS}
from raw.community_events
where {_ARRIVED}
union all
select
{_EVENT_COLUMNS}
from raw.community_events
where {_IN_INTERVAL}
    and not ({_ARRIVED})
union all
select
{_EVENT_COLUMNS}
from raw.community_events
where occurred_at > current_setting('pulse.gate_future_after')::timestamptz
    and not ({_IN_INTERVAL})
    and not ({_ARRIVED})"""

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

# The contract's community_id is `[A-Za-z0-9_.:-]{1,64}`, a member_key 64 hex digits. Each is
# checked as "no character outside the set" plus a length rule: PostgreSQL runs a bounded
# repetition like {1,64} ten times slower (10 s instead of 1 s on 1M rows).
COMMUNITY_ID_FORBIDDEN = r"[^A-Za-z0-9_.:-]"
MEMBER_KEY_FORBIDDEN = r"[^0-9a-f]"


def raw_suites() -> list[SuiteSpec]:
    """The raw gate: the run's events follow the inbound contract; the volume is plausible.

    Returns:
        The events suite and the volume suite, in the order of the checkpoint's validation
        definitions.
    """

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
                    column="occurred_at", max_value=param(PARAM_LATEST_OCCURRED_AT)
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
                    min_value=param(PARAM_BAND_LOW),
                    max_value=param(PARAM_BAND_HIGH),
                ),
            ),
            Rule(
                "dead letters are under the maximum share of what arrived during the interval",
                lambda: gxe().ExpectColumnValuesToBeBetween(
                    column="dead_letter_share",
                    min_value=0,
                    max_value=param(PARAM_DEAD_LETTER_MAX),
                ),
            ),
        ],
    )
    return [events, volume]
