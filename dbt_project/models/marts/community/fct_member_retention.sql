-- depends_on: {{ ref('int_communities_reopened') }}
-- One row per community, cohort and week since joining. Incremental builds start from the base
-- build's rows: a community's rows of weeks from the week before its reopen_from on
-- (int_communities_reopened) are rebuilt (a cohort that can change at all, its first members
-- being new, starts no earlier, so all its rows are among them); the cohorts' sizes come from
-- the community's first memberships, their activity and membership from those weeks only. A
-- cohort whose suppression moved with the new members (macros/suppression.sql: the cohort next
-- to the earliest small one is hidden too) is rebuilt whole, from its own week.

with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

last_week as (

    select max(activity_week) as last_week_start
    from spine

),

reopened_from as (

    {{ community_reopen_weeks('spine', pulse_incremental(), days_before=1) }}

),

-- The first memberships of the communities rebuilt: which cohorts are hidden depends on all of
-- a community's cohorts (macros/suppression.sql).
first_memberships as (

    select memberships.*
    from {{ ref('int_memberships_observed') }} as memberships
    inner join reopened_from
        on memberships.community_id = reopened_from.community_id
    where memberships.membership_number = 1

),

{{ cohorts_hidden('first_memberships') }}

{% if pulse_incremental() %}

-- A cohort hidden in the base build (rows suppressed in weeks that fct_community_health showed)
-- and not now, or the reverse, has all its rows rebuilt: the community is rebuilt from its
-- week, not only from the week before reopen_from.
base_cohorts as (

    select
        base.community_id,
        base.cohort_week,
        bool_or(base.is_suppressed and not base_health.is_suppressed) as was_hidden
    from {{ base_build_relation() }} as base
    inner join reopened_from
        on base.community_id = reopened_from.community_id
    inner join {{ base_build_mart('fct_community_health') }} as base_health
        on base.community_id = base_health.community_id
        and base.week_start = base_health.week_start
    group by base.community_id, base.cohort_week

),

cohorts_moved as (

    select
        cohorts_hidden.community_id,
        min(cohorts_hidden.cohort_week) as moved_week
    from cohorts_hidden
    inner join base_cohorts
        on cohorts_hidden.community_id = base_cohorts.community_id
        and cohorts_hidden.cohort_week = base_cohorts.cohort_week
    where cohorts_hidden.is_hidden <> base_cohorts.was_hidden
    group by cohorts_hidden.community_id

),

reopened as (

    select
        reopened_from.community_id,
        least(reopened_from.reopen_week, cohorts_moved.moved_week) as reopen_week
    from reopened_from
    left join cohorts_moved
        on reopened_from.community_id = cohorts_moved.community_id

),

{% else %}

reopened as (

    select * from reopened_from

),

{% endif %}

memberships as (

    select
        memberships.*,
        reopened.reopen_week,
        -- the first week end the membership can cover among the weeks rebuilt
        greatest(
            date_trunc('week', memberships.started_on::timestamp), reopened.reopen_week::timestamp
        ) as covered_from
    from {{ ref('int_memberships_observed') }} as memberships
    inner join reopened
        on memberships.community_id = reopened.community_id

),

member_days as (

    select member_days.*
    from {{ ref('int_member_days_aggregated') }} as member_days
    inner join reopened
        on member_days.community_id = reopened.community_id
    where member_days.activity_date >= reopened.reopen_week

),

-- A member belongs to the cohort of the week their first membership started (a join or, for a
-- member already there before the stream, the first time they were seen); leaving and coming
-- back does not make them a newcomer again.
cohort_members as (

    select
        community_id,
        member_key,
        reopen_week,
        date_trunc('week', started_on::timestamp)::date as cohort_week
    from memberships
    where membership_number = 1

),

cohort_sizes as (

    select
        community_id,
        cohort_week,
        -- the first week since joining among the weeks rebuilt
        greatest(0, (reopen_week - cohort_week) / 7) as first_weeks_since,
        count(*) as cohort_members
    from cohort_members
    group by community_id, cohort_week, reopen_week

),

-- The rows rebuilt: every cohort's weeks from reopen_week on.
cohort_weeks as (

    select
        cohort_sizes.community_id,
        cohort_sizes.cohort_week,
        cohort_sizes.cohort_members,
        weeks_since_join::integer as weeks_since_join,
        cohort_sizes.cohort_week + 7 * weeks_since_join::integer as week_start
    from cohort_sizes
    cross join last_week
    cross join lateral generate_series(
        cohort_sizes.first_weeks_since, (last_week.last_week_start - cohort_sizes.cohort_week) / 7
    ) as weeks_since_join

),

active_weeks as (

    select distinct
        community_id,
        member_key,
        activity_week
    from member_days

),

-- The community's active members in each rebuilt week: the cohorts' retained members add up to
-- them (and their still members to the members at the week's end), which fct_community_health
-- hides in a week with too few; so the cohorts show nothing that week either.
week_active as (

    select
        community_id,
        activity_week as week_start,
        count(*) as active_members
    from active_weeks
    group by community_id, activity_week

),

retained as (

    select
        cohort_members.community_id,
        cohort_members.cohort_week,
        active_weeks.activity_week as week_start,
        count(*) as active_members
    from cohort_members
    inner join active_weeks
        on cohort_members.community_id = active_weeks.community_id
        and cohort_members.member_key = active_weeks.member_key
        and cohort_members.cohort_week <= active_weeks.activity_week
    group by cohort_members.community_id, cohort_members.cohort_week, active_weeks.activity_week

),

-- A membership covers the end of week w (next Monday 00:00 UTC) when it started before it and had
-- not ended by it: w runs from the week it started to the week before the week it ended (only
-- the rebuilt weeks, from reopen_week on, are needed). A member's memberships never overlap, so
-- counting covered weeks counts each member once.
ongoing_memberships as (

    select *
    from memberships
    where ended_on is null or ended_on >= reopen_week + 7

),

membership_weeks as (

    select
        memberships.community_id,
        memberships.member_key,
        covered_week::date as week_start
    from ongoing_memberships as memberships
    cross join last_week
    cross join lateral generate_series(
        memberships.covered_from,
        coalesce(
            date_trunc('week', memberships.ended_on::timestamp) - interval '7 days',
            last_week.last_week_start::timestamp
        ),
        interval '7 days'
    ) as covered_week

),

still_members as (

    select
        cohort_members.community_id,
        cohort_members.cohort_week,
        membership_weeks.week_start,
        count(*) as still_members
    from cohort_members
    inner join membership_weeks
        on cohort_members.community_id = membership_weeks.community_id
        and cohort_members.member_key = membership_weeks.member_key
    group by cohort_members.community_id, cohort_members.cohort_week, membership_weeks.week_start

),

cohorts as (

    select
        cohort_weeks.community_id,
        cohort_weeks.cohort_week,
        cohort_weeks.weeks_since_join,
        cohort_weeks.week_start,
        cohort_weeks.cohort_members,
        coalesce(retained.active_members, 0) as active_members,
        coalesce(still_members.still_members, 0) as still_members,
        coalesce(cohorts_hidden.is_hidden, true)
        or coalesce(week_active.active_members, 0) < {{ min_group_size() }} as is_suppressed
    from cohort_weeks
    left join cohorts_hidden
        on cohort_weeks.community_id = cohorts_hidden.community_id
        and cohort_weeks.cohort_week = cohorts_hidden.cohort_week
    left join week_active
        on cohort_weeks.community_id = week_active.community_id
        and cohort_weeks.week_start = week_active.week_start
    left join retained
        on cohort_weeks.community_id = retained.community_id
        and cohort_weeks.cohort_week = retained.cohort_week
        and cohort_weeks.week_start = retained.week_start
    left join still_members
        on cohort_weeks.community_id = still_members.community_id
        and cohort_weeks.cohort_week = still_members.cohort_week
        and cohort_weeks.week_start = still_members.week_start

),

rebuilt as (

    select
        -- ids
        community_id::text as community_id,
        cohort_week::date as cohort_week,
        weeks_since_join::integer as weeks_since_join,

        -- dimensions
        week_start::date as week_start,
        is_suppressed::boolean as is_suppressed,

        -- measures (null when the cohort is smaller than the minimum group size)
        {{ unless_suppressed('cohort_members') }}::integer as cohort_members,
        {{ unless_suppressed('active_members') }}::integer as retained_members,
        {{ unless_suppressed(ratio('active_members', 'cohort_members', 4)) }}::numeric(12, 4)
            as retained_share,
        {{ unless_suppressed('still_members') }}::integer as still_members,
        {{ unless_suppressed(ratio('still_members', 'cohort_members', 4)) }}::numeric(12, 4)
            as still_member_share

    from cohorts

),

{% if pulse_incremental() %}

-- The base build's rows of weeks not rebuilt, up to the last week the calendar still has
-- (their columns by name: brand_id is joined afresh onto every row, see with_brand).
kept as (

    select
        base.community_id,
        base.cohort_week,
        base.weeks_since_join,
        base.week_start,
        base.is_suppressed,
        base.cohort_members,
        base.retained_members,
        base.retained_share,
        base.still_members,
        base.still_member_share
    from {{ base_build_relation() }} as base
    cross join last_week
    left join reopened
        on base.community_id = reopened.community_id
        and base.week_start >= reopened.reopen_week
    where reopened.community_id is null and base.week_start <= last_week.last_week_start

),

final as (

    select * from rebuilt
    union all
    select * from kept

)

{% else %}

final as (

    select * from rebuilt

)

{% endif %}

{{ with_brand('final') }}
