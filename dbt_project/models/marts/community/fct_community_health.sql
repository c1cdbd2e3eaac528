with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

member_days as (

    select * from {{ ref('int_member_days_aggregated') }}

),

memberships as (

    select * from {{ ref('int_memberships_observed') }}

),

community_weeks as (

    select distinct
        community_id,
        activity_week as week_start
    from spine

),

member_weeks as (

    select
        community_id,
        member_key,
        activity_week as week_start,
        sum(actions) as actions,
        sum(contributions) as contributions
    from member_days
    group by community_id, member_key, activity_week

),

first_joins as (

    select
        community_id,
        member_key,
        date_trunc('week', min(started_on)::timestamp)::date as first_join_week
    from memberships
    group by community_id, member_key

),

members_at_week_end as (

    select
        community_weeks.community_id,
        community_weeks.week_start,
        memberships.member_key
    from community_weeks
    inner join memberships
        on community_weeks.community_id = memberships.community_id
        and memberships.started_on < community_weeks.week_start + 7
        and (memberships.ended_on is null or memberships.ended_on >= community_weeks.week_start + 7)

),

-- Contributor concentration: sort the week's contributors by posts+comments, most first; the
-- fewest members that make half of the week's contributions are those whose preceding
-- contributors had not reached half yet.
contributors_ranked as (

    select
        community_id,
        week_start,
        contributions,
        sum(contributions) over (
            partition by community_id, week_start
            order by contributions desc, member_key asc
            rows between unbounded preceding and current row
        ) - contributions as contributions_before,
        sum(contributions) over (partition by community_id, week_start) as week_contributions
    from member_weeks
    where contributions > 0

),

concentration as (

    select
        community_id,
        week_start,
        count(*) as contributors,
        max(week_contributions) as contributions,
        count(*) filter (where contributions_before * 2 < week_contributions)
            as contributors_for_half
    from contributors_ranked
    group by community_id, week_start

),

-- Levels by actions in the week (posts, comments, reactions, shares, ideas, votes).
levels as (

    select
        community_id,
        week_start,
        count(*) as active_members,
        count(*) filter (where actions <= 2) as casual_members,
        count(*) filter (where actions between 3 and 9) as regular_members,
        count(*) filter (where actions >= 10) as core_members
    from member_weeks
    group by community_id, week_start

),

newcomers as (

    select
        community_id,
        first_join_week as week_start,
        count(*) as newcomers
    from first_joins
    group by community_id, first_join_week

),

week_end_members as (

    select
        members_at_week_end.community_id,
        members_at_week_end.week_start,
        count(*) as members,
        count(*) filter (where member_weeks.member_key is null) as inactive_members
    from members_at_week_end
    left join member_weeks
        on members_at_week_end.community_id = member_weeks.community_id
        and members_at_week_end.week_start = member_weeks.week_start
        and members_at_week_end.member_key = member_weeks.member_key
    group by members_at_week_end.community_id, members_at_week_end.week_start

),

measured as (

    select
        community_weeks.community_id,
        community_weeks.week_start,
        coalesce(levels.active_members, 0) < {{ min_group_size() }} as is_suppressed,
        coalesce(levels.active_members, 0) as active_members,
        coalesce(newcomers.newcomers, 0) as newcomers,
        coalesce(week_end_members.members, 0) as members_at_week_end,
        coalesce(week_end_members.inactive_members, 0) as inactive_members,
        coalesce(levels.casual_members, 0) as casual_members,
        coalesce(levels.regular_members, 0) as regular_members,
        coalesce(levels.core_members, 0) as core_members,
        coalesce(concentration.contributors, 0) as contributors,
        coalesce(concentration.contributions, 0) as contributions,
        concentration.contributors_for_half
    from community_weeks
    left join levels
        on community_weeks.community_id = levels.community_id
        and community_weeks.week_start = levels.week_start
    left join newcomers
        on community_weeks.community_id = newcomers.community_id
        and community_weeks.week_start = newcomers.week_start
    left join week_end_members
        on community_weeks.community_id = week_end_members.community_id
        and community_weeks.week_start = week_end_members.week_start
    left join concentration
        on community_weeks.community_id = concentration.community_id
        and community_weeks.week_start = concentration.week_start

),

final as (

    select
        -- ids
        community_id::text as community_id,
        week_start::date as week_start,

        -- dimensions
        is_suppressed::boolean as is_suppressed,

        -- measures (null when the week has too few active members)
        {{ unless_suppressed('active_members') }}::integer as active_members,
        {{ unless_suppressed('newcomers') }}::integer as newcomers,
        {{ unless_suppressed('members_at_week_end') }}::integer as members_at_week_end,
        {{ unless_suppressed('inactive_members') }}::integer as inactive_members,
        {{ unless_suppressed('casual_members') }}::integer as casual_members,
        {{ unless_suppressed('regular_members') }}::integer as regular_members,
        {{ unless_suppressed('core_members') }}::integer as core_members,
        {{ unless_suppressed('contributors') }}::integer as contributors,
        {{ unless_suppressed('contributions') }}::integer as contributions,
        {{ unless_suppressed('contributors_for_half') }}::integer as contributors_for_half,
        {{ unless_suppressed(ratio('contributors_for_half', 'contributors', 4)) }}::numeric(12, 4)
            as contributor_concentration_share

    from measured

)

select * from final
