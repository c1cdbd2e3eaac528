-- One row per incident (the rule: _incidents__models.yml). Rebuilt in full on every run from
-- the day rules walked (int_incident_days_walked, itself rebuilt in full from the incremental
-- daily tables) and the ideas' lifecycle: incidents are few, and a full rebuild equals a full
-- refresh by construction.

{%- set resolve_after = incident_var('incident_resolve_after_days', 1, 365, integer=true) %}
{%- set unanswered_days = incident_var('incident_idea_unanswered_days', 0.001) %}
{%- set critical_ratio = incident_var('incident_critical_ratio', 1) %}
{%- set min_days_held = incident_var('incident_min_days_held', 1, 30, integer=true) %}

with

held_days as (

    select * from {{ ref('int_incident_days_walked') }}

),

communities as (

    select * from {{ ref('dim_community') }}

),

ideas as (

    select * from {{ ref('int_ideas_lifecycle_joined') }}

),

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

-- The last day with data may be in progress: the day rules judge the days before it, the idea
-- rule looks at the ideas as of its start.
data_bounds as (

    select
        max(activity_date) as last_day,
        max(activity_date)::timestamp at time zone 'utc' as as_of_at
    from spine

),

day_incidents as (

    select
        community_id,
        alert_type,
        opened_on,
        max(activity_date) as last_held_on,
        -- A held week of the week rule is seven days the condition held.
        count(*) * max(period_days) as days_held,
        max(period_days) as period_days,
        {{ incident_resolve_span('max(period_days)', resolve_after) }} as resolve_span_days,
        bool_or(is_critical and activity_date = opened_on) as is_opened_critical,
        min(activity_date) filter (where is_critical) as first_critical_on,
        -- the rule judges up to the day before the last with data (two before, for a drop), a
        -- week once its Sunday is before it
        case when alert_type = 'engagement_drop' then 2 else max(period_days) end as judging_lag
    from held_days
    group by community_id, alert_type, opened_on
    -- Confirmed by a second held day: a shift barely significant on one window is most often
    -- chance, while a real one, even of a single day, holds on the two windows holding that day.
    -- A week is judged once, on its own data: one held week confirms itself.
    having count(*) * max(period_days) >= {{ min_days_held }}

),

-- The peak: the most severe held day, then the one furthest from the baseline (every day of an
-- incident is held against the same baseline), then the first.
day_peaks as (

    select
        community_id,
        alert_type,
        opened_on,
        activity_date as peak_on,
        window_events::double precision / window_exposure as observed,
        baseline_events::double precision / nullif(baseline_exposure, 0) as baseline,
        row_number() over (
            partition by community_id, alert_type, opened_on
            order by
                is_critical desc,
                case
                    when alert_type = 'engagement_drop'
                        then -window_events::double precision / window_exposure
                    else window_events::double precision / window_exposure
                end desc,
                activity_date asc
        ) as peak_rank
    from held_days

),

day_rule_incidents as (

    select
        day_incidents.community_id,
        day_incidents.alert_type,
        null::text as idea_id,
        day_incidents.opened_on,
        case
            when day_incidents.alert_type = 'negative_sentiment_spike' then 'negative_share'
            when day_incidents.alert_type = 'brand_voice_too_high' then 'brand_post_share'
            when day_incidents.alert_type = 'core_members_quiet' then 'quiet_core_share'
            else 'engagements_per_post'
        end as metric,
        day_peaks.observed,
        day_peaks.baseline,
        day_peaks.peak_on,
        day_incidents.days_held::integer as days_held,
        day_incidents.first_critical_on is not null as is_critical,
        day_incidents.opened_on::timestamp at time zone 'utc' as opened_at,
        case
            when not day_incidents.is_opened_critical
                then day_incidents.first_critical_on::timestamp at time zone 'utc'
        end as escalated_at,
        (day_incidents.last_held_on + day_incidents.period_days)::timestamp at time zone 'utc'
            as last_seen_at,
        -- Resolved once resolve_after days (whole weeks, for the week rule) the rule judges
        -- have passed quietly: at the end of the last of them.
        case
            when
                day_incidents.last_held_on + day_incidents.resolve_span_days
                + day_incidents.judging_lag
                <= data_bounds.last_day
                then (
                    day_incidents.last_held_on + day_incidents.resolve_span_days
                    + day_incidents.period_days
                )::timestamp at time zone 'utc'
        end as resolved_at
    from day_incidents
    inner join day_peaks
        on day_incidents.community_id = day_peaks.community_id
        and day_incidents.alert_type = day_peaks.alert_type
        and day_incidents.opened_on = day_peaks.opened_on
        and day_peaks.peak_rank = 1
    cross join data_bounds

),

-- An idea's incident opens when it has waited the limit without a response and closes with
-- the response.
idea_waits as (

    select
        ideas.community_id,
        ideas.idea_id,
        ideas.submitted_at,
        ideas.first_response_at,
        ideas.submitted_at + interval '1 day' * {{ unanswered_days }} as opened_at,
        ideas.submitted_at + interval '1 day' * {{ unanswered_days * critical_ratio }}
            as critical_at,
        coalesce(ideas.first_response_at, data_bounds.as_of_at) as last_seen_at
    from ideas
    cross join data_bounds
    where
        ideas.submitted_at + interval '1 day' * {{ unanswered_days }} < data_bounds.as_of_at
        and (
            ideas.first_response_at is null
            or ideas.first_response_at
            > ideas.submitted_at + interval '1 day' * {{ unanswered_days }}
        )

),

idea_incidents as (

    select
        community_id,
        'idea_unanswered' as alert_type,
        idea_id,
        (opened_at at time zone 'utc')::date as opened_on,
        'hours_unanswered' as metric,
        extract(epoch from last_seen_at - submitted_at) / 3600 as observed,
        null::double precision as baseline,
        (last_seen_at at time zone 'utc')::date as peak_on,
        ceil(extract(epoch from last_seen_at - opened_at) / 86400)::integer as days_held,
        critical_at < last_seen_at as is_critical,
        opened_at,
        case when critical_at < last_seen_at then critical_at end as escalated_at,
        last_seen_at,
        first_response_at as resolved_at
    from idea_waits

),

incidents as (

    select * from day_rule_incidents
    union all
    select * from idea_incidents

),

final as (

    select
        -- ids
        md5(concat_ws(
            '|',
            incidents.community_id,
            incidents.alert_type,
            coalesce(incidents.idea_id, ''),
            to_char(incidents.opened_on, 'YYYY-MM-DD')
        ))::uuid as incident_id,
        incidents.community_id::text as community_id,
        communities.brand_id::text as brand_id,
        incidents.idea_id::text as idea_id,

        -- dimensions
        incidents.alert_type::text as alert_type,
        (case when incidents.resolved_at is null then 'open' else 'resolved' end)::text
            as status,
        (case when incidents.is_critical then 'critical' else 'warning' end)::text as severity,
        (case
            when incidents.resolved_at is null then null
            when incidents.alert_type = 'idea_unanswered' then 'responded'
            else 'condition_ended'
        end)::text as resolution,
        incidents.metric::text as metric,

        -- measures
        round(incidents.observed::numeric, 4)::numeric(14, 4) as observed,
        round(incidents.baseline::numeric, 4)::numeric(14, 4) as baseline,
        incidents.days_held::integer as days_held,

        -- timestamps
        incidents.peak_on::date as peak_on,
        incidents.opened_at::timestamptz as opened_at,
        incidents.escalated_at::timestamptz as escalated_at,
        incidents.last_seen_at::timestamptz as last_seen_at,
        incidents.resolved_at::timestamptz as resolved_at

    from incidents
    left join communities
        on incidents.community_id = communities.community_id

)

select * from final
