-- One row per community (with a brand) per complete ISO week. A table over the incremental
-- week counts (int_community_weeks_quiet_core_counted), rebuilt in full on every run: it is
-- communities x weeks, and reading it whole keeps the average of the weeks before and the
-- last complete week right whatever the run reopened.

with

quiet_core_weeks as (

    select * from {{ ref('int_community_weeks_quiet_core_counted') }}

),

communities as (

    select * from {{ ref('stg_pulse__communities') }}
    where brand_id is not null

),

community_bounds as (

    select * from {{ ref('int_community_bounds') }}

),

{{ quiet_core_weeks_hidden('quiet_core_weeks') }}

-- The last day with data may still be in progress: a week is complete once its Sunday is
-- before it. A week still going would count as quiet every core member not back yet.
data_bounds as (

    select max(last_event_on) as last_day
    from community_bounds

),

complete_weeks as (

    select quiet_core_weeks_hidden.*
    from quiet_core_weeks_hidden
    cross join data_bounds
    where quiet_core_weeks_hidden.week_start + 6 < data_bounds.last_day

),

-- The calendar has every week of a community, so the four rows before are the four weeks
-- before; the weeks hidden are left out of their average, which could give them away else.
measured as (

    select
        *,
        avg(quiet_core_members) filter (where not is_suppressed) over (
            partition by community_id
            order by week_start
            rows between 4 preceding and 1 preceding
        ) as quiet_core_members_previous_4_weeks_avg
    from complete_weeks

),

final as (

    select
        -- ids
        measured.community_id::text as community_id,
        communities.brand_id::text as brand_id,
        measured.week_start::date as week_start,

        -- dimensions
        measured.is_suppressed::boolean as is_suppressed,

        -- measures (null when too few members were active in the four weeks before)
        {{ unless_suppressed('measured.core_members', 'measured.is_suppressed') }}::bigint
            as core_members,
        {{ unless_suppressed('measured.quiet_core_members', 'measured.is_suppressed') }}::bigint
            as quiet_core_members,
        {{ unless_suppressed(
            ratio('measured.quiet_core_members', 'measured.core_members', 4),
            'measured.is_suppressed'
        ) }}::numeric(12, 4) as quiet_core_share,
        {{ unless_suppressed(
            'round(measured.quiet_core_members_previous_4_weeks_avg, 4)',
            'measured.is_suppressed'
        ) }}::numeric(12, 4) as quiet_core_members_previous_4_weeks_avg

    from measured
    inner join communities
        on measured.community_id = communities.community_id

)

select * from final
