with

memberships as (

    select * from {{ ref('int_memberships_observed') }}

),

member_days as (

    select * from {{ ref('int_member_days_aggregated') }}

),

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

last_week as (

    select max(activity_week) as last_week_start
    from spine

),

-- A member belongs to the cohort of the week their first membership started (a join or, for a
-- member already there before the stream, the first time they were seen); leaving and coming
-- back does not make them a newcomer again.
cohort_members as (

    select
        community_id,
        member_key,
        date_trunc('week', min(started_on)::timestamp)::date as cohort_week
    from memberships
    group by community_id, member_key

),

cohort_sizes as (

    select
        community_id,
        cohort_week,
        count(*) as cohort_members
    from cohort_members
    group by community_id, cohort_week

),

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
        0, (last_week.last_week_start - cohort_sizes.cohort_week) / 7
    ) as weeks_since_join

),

active_weeks as (

    select distinct
        community_id,
        member_key,
        activity_week
    from member_days

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
-- not ended by it: w runs from the week it started to the week before the week it ended.
-- A member's memberships never overlap, so counting covered weeks counts each member once.
membership_weeks as (

    select
        memberships.community_id,
        memberships.member_key,
        covered_week::date as week_start
    from memberships
    cross join last_week
    cross join lateral generate_series(
        date_trunc('week', memberships.started_on::timestamp),
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
        cohort_weeks.cohort_members < {{ min_group_size() }} as is_suppressed
    from cohort_weeks
    left join retained
        on cohort_weeks.community_id = retained.community_id
        and cohort_weeks.cohort_week = retained.cohort_week
        and cohort_weeks.week_start = retained.week_start
    left join still_members
        on cohort_weeks.community_id = still_members.community_id
        and cohort_weeks.cohort_week = still_members.cohort_week
        and cohort_weeks.week_start = still_members.week_start

),

final as (

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

)

select * from final
