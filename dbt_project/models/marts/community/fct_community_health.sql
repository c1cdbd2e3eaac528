-- depends_on: {{ ref('int_communities_reopened') }}
-- One row per community per ISO week. Incremental builds start from the base build's rows:
-- a community's weeks from the week before its reopen_from on (int_communities_reopened: who
-- was active, a member at a week's end or new can change no earlier) are rebuilt, from the
-- member days and memberships of those weeks only; every other row is the base build's.

with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

reopened as (

    {{ community_reopen_weeks('spine', pulse_incremental(), days_before=1) }}

),

community_weeks as (

    select distinct
        spine.community_id,
        spine.activity_week as week_start
    from spine
    inner join reopened
        on spine.community_id = reopened.community_id
    where spine.activity_week >= reopened.reopen_week

),

member_days as (

    select member_days.*
    from {{ ref('int_member_days_aggregated') }} as member_days
    inner join reopened
        on member_days.community_id = reopened.community_id
    where member_days.activity_date >= reopened.reopen_week

),

-- The memberships that can hold a member at the end of a rebuilt week (open, or ended on or
-- after the first rebuilt week's end).
memberships as (

    select memberships.*
    from {{ ref('int_memberships_observed') }} as memberships
    inner join reopened
        on memberships.community_id = reopened.community_id
    where
        memberships.ended_on is null
        or memberships.ended_on >= reopened.reopen_week + 7

),

-- Every first membership of the communities rebuilt: a week's newcomers are its join-week
-- cohort (fct_member_retention's), hidden with it (macros/suppression.sql), which depends on
-- the community's other cohorts too.
first_memberships as (

    select memberships.*
    from {{ ref('int_memberships_observed') }} as memberships
    inner join reopened
        on memberships.community_id = reopened.community_id
    where memberships.membership_number = 1

),

{{ cohorts_hidden('first_memberships') }}

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
        coalesce(levels.active_members, 0) < {{ min_group_size() }}
        or coalesce(cohorts_hidden.is_hidden, false) as newcomers_hidden,
        coalesce(levels.active_members, 0) as active_members,
        -- A member's first membership is their first join (or first sighting): they are a
        -- newcomer in its week.
        coalesce(cohorts_hidden.cohort_members, 0) as newcomers,
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
    left join cohorts_hidden
        on community_weeks.community_id = cohorts_hidden.community_id
        and community_weeks.week_start = cohorts_hidden.cohort_week
    left join week_end_members
        on community_weeks.community_id = week_end_members.community_id
        and community_weeks.week_start = week_end_members.week_start
    left join concentration
        on community_weeks.community_id = concentration.community_id
        and community_weeks.week_start = concentration.week_start

),

rebuilt as (

    select
        -- ids
        community_id::text as community_id,
        week_start::date as week_start,

        -- dimensions
        is_suppressed::boolean as is_suppressed,

        -- measures (null when the week has too few active members)
        {{ unless_suppressed('active_members') }}::integer as active_members,
        {{ unless_suppressed('newcomers', 'newcomers_hidden') }}::integer as newcomers,
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

),

{% if pulse_incremental() %}

-- The base build's rows of weeks not rebuilt, while the calendar still has them. In a
-- community rebuilt from a later week, a cohort may be hidden or shown now because of its new
-- members: the newcomers of those rows are those of cohorts_hidden (sizes of weeks not rebuilt
-- did not change).
kept as (

    select
        base.community_id,
        base.week_start,
        base.is_suppressed,
        base.active_members,
        (case
            when rebuilt_community.community_id is null then base.newcomers
            when not base.is_suppressed and not coalesce(cohorts_hidden.is_hidden, false)
                then coalesce(cohorts_hidden.cohort_members, 0)
        end)::integer as newcomers,
        base.members_at_week_end,
        base.inactive_members,
        base.casual_members,
        base.regular_members,
        base.core_members,
        base.contributors,
        base.contributions,
        base.contributors_for_half,
        base.contributor_concentration_share
    from {{ base_build_relation() }} as base
    left join reopened
        on base.community_id = reopened.community_id
        and base.week_start >= reopened.reopen_week
    left join reopened as rebuilt_community
        on base.community_id = rebuilt_community.community_id
    left join cohorts_hidden
        on base.community_id = cohorts_hidden.community_id
        and base.week_start = cohorts_hidden.cohort_week
    where
        reopened.community_id is null
        and exists (
            select 1
            from spine
            where
                spine.community_id = base.community_id
                and spine.activity_week = base.week_start
        )

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
