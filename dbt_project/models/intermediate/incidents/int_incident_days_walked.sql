-- The day rules of the incidents walked day by day (the rule: models/marts/incidents/
-- _incidents__models.yml): one row per community, rule and UTC day on which the condition held,
-- with the incident it belongs to (opened_on). A day is judged against the baseline before its
-- window while no incident is open, and against the baseline the open incident was opened
-- against otherwise, so a lasting condition does not become its own normal; which one applies
-- depends on the days before, hence the recursion (one step per day of the calendar, every
-- community and rule at once, each step an index lookup per community and rule).
-- The week rule (core_members_quiet) is walked the same way, one step per week: its rows are
-- numbered by week, and an open incident's span is counted in whole weeks.
-- Rebuilt in full on every run, like int_incident_days_scored.
{{
    config(
        indexes=[{'columns': ['community_id', 'alert_type', 'opened_on']}],
        post_hook=["analyze {{ this }}"]
    )
}}

{%- set resolve_after = incident_var('incident_resolve_after_days', 1, 365, integer=true) %}
{%- set min_count = incident_var('incident_min_count', 1) %}
{%- set min_effect = incident_var('incident_min_effect', 0, 0.99) %}
{%- set critical_ratio = incident_var('incident_critical_ratio', 1) %}
{#- The step's logic, as expressions of `walk` (the day before) and `scored_day` (the day): -#}
{#- an incident is open until the condition has not held for resolve_after days (weeks, for the -#}
{#- week rule: incident_resolve_span); -#}
{%- set is_open -%}
    (walk.opened_on is not null
    and scored_day.activity_date - walk.last_held_on
    <= {{ incident_resolve_span('scored_day.period_days', resolve_after) }})
{%- endset %}
{#- the baseline is the one the open incident opened against, else the one before the window; -#}
{%- set k = 'scored_day.window_events' %}
{%- set e = 'scored_day.window_exposure' %}
{%- set k0 = '(case when ' ~ is_open ~ ' then walk.frozen_events'
    ~ ' else scored_day.baseline_events end)' %}
{%- set e0 = '(case when ' ~ is_open ~ ' then walk.frozen_exposure'
    ~ ' else scored_day.baseline_exposure end)' %}
{#- the day holds when judged and the shift is significant, large and not a handful. -#}
{%- set is_held -%}
    coalesce(
        scored_day.is_observable
        and ({{ is_open }} or scored_day.has_baseline)
        and case
            when scored_day.alert_type = 'engagement_drop' then
                {{ k0 }} * {{ e }} >= {{ min_count }} * {{ e0 }}
                and {{ k }} * {{ e0 }} <= {{ 1 - min_effect }} * {{ k0 }} * {{ e }}
                and {{ rate_ratio_upper_bound(k, e, k0, e0, 'parameters.z') }} < 1
            else
                {{ k }} >= {{ min_count }}
                and {{ k }} * {{ e0 }} >= {{ 1 + min_effect }} * {{ k0 }} * {{ e }}
                and {{ share_rise_lower_bound(k, e, k0, e0, 'parameters.z') }} > 0
        end,
        false
    )
{%- endset %}
{%- set is_critical -%}
    coalesce(
        case
            when scored_day.alert_type = 'engagement_drop'
                then {{ critical_ratio }} * {{ k }} * {{ e0 }} <= {{ k0 }} * {{ e }}
            else {{ k }} * {{ e0 }} >= {{ critical_ratio }} * {{ k0 }} * {{ e }}
        end,
        false
    )
{%- endset %}

with recursive

parameters as (

    select {{ normal_upper_quantile(var('incident_significance')) }} as z

),

walk as (

    -- The first day of a community has no baseline: nothing holds, nothing is open.
    select
        community_id,
        alert_type,
        day_number,
        period_days,
        activity_date,
        false as is_held,
        false as is_critical,
        null::date as opened_on,
        null::date as last_held_on,
        null::bigint as frozen_events,
        null::bigint as frozen_exposure,
        window_events,
        window_exposure
    from {{ ref('int_incident_days_scored') }}
    where day_number = 1

    union all

    select
        scored_day.community_id,
        scored_day.alert_type,
        scored_day.day_number,
        scored_day.period_days,
        scored_day.activity_date,
        {{ is_held }} as is_held,
        {{ is_held }} and {{ is_critical }} as is_critical,
        case
            when {{ is_open }} then walk.opened_on
            when {{ is_held }} then scored_day.activity_date
        end as opened_on,
        case
            when {{ is_held }} then scored_day.activity_date
            when {{ is_open }} then walk.last_held_on
        end as last_held_on,
        case
            when {{ is_open }} then walk.frozen_events
            when {{ is_held }} then scored_day.baseline_events
        end as frozen_events,
        case
            when {{ is_open }} then walk.frozen_exposure
            when {{ is_held }} then scored_day.baseline_exposure
        end as frozen_exposure,
        scored_day.window_events,
        scored_day.window_exposure
    from walk
    -- Read directly, not through an import CTE: a CTE read by the recursion would be
    -- materialized without the index every step looks a day up in.
    inner join {{ ref('int_incident_days_scored') }} as scored_day
        on walk.community_id = scored_day.community_id
        and walk.alert_type = scored_day.alert_type
        and walk.day_number + 1 = scored_day.day_number
    cross join parameters

),

final as (

    select
        -- ids
        community_id,
        alert_type,
        opened_on,

        -- dimensions
        period_days,
        is_critical,

        -- measures
        window_events,
        window_exposure,
        frozen_events as baseline_events,
        frozen_exposure as baseline_exposure,

        -- timestamps
        activity_date

    from walk
    where is_held

)

select * from final
