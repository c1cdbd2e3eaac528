-- depends_on: {{ ref('int_communities_reopened') }}
-- Core members going quiet, one row per community per ISO week of the calendar (the
-- definitions: _int_community__models.yml). A week's figures read the member days of the four
-- weeks before it (who is core) and of the week itself (who stayed silent), so a change on day d
-- moves no week before d's.
--
-- Incremental: a community is rebuilt from the week of its reopen_from on, from the member
-- days of the four weeks before that week on; the weeks before stay as stored. The last week
-- of the calendar is counted as of its Sunday even while it is in progress: the mart and the
-- incident rule take only complete weeks, and this table does not depend on where the data
-- ends.
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[{'columns': ['community_id', 'week_start'], 'unique': true}],
        pre_hook=["{{ delete_reopened_weeks(
            ref('int_communities_reopened'), ref('int_community_days_spined')
        ) }}"]
    )
}}

with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

reopened as (

    {{ community_reopen_weeks('spine', is_incremental()) }}

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
    where member_days.activity_date >= reopened.reopen_week - 28

),

-- Each member seen in the five weeks that end with the week: what they did in the four weeks
-- before it, and the last day they acted up to its Sunday.
member_weeks as (

    select
        community_weeks.community_id,
        community_weeks.week_start,
        member_days.member_key,
        bool_or(member_days.activity_date < community_weeks.week_start) as is_lookback_active,
        coalesce(
            sum(member_days.actions) filter (
                where member_days.activity_date < community_weeks.week_start
            ),
            0
        ) as lookback_actions,
        max(member_days.activity_date) filter (where member_days.actions > 0) as last_action_on
    from community_weeks
    inner join member_days
        on community_weeks.community_id = member_days.community_id
        and member_days.activity_date >= community_weeks.week_start - 28
        and member_days.activity_date < community_weeks.week_start + 7
    group by community_weeks.community_id, community_weeks.week_start, member_days.member_key

),

-- rank() is 1 + the number of members with more actions: a member is core while fewer than a
-- quarter had more, so members tied with the last of the top quarter are core too.
lookback_members as (

    select
        community_id,
        week_start,
        lookback_actions,
        last_action_on,
        count(*) over community_week as lookback_active_members,
        rank() over (
            partition by community_id, week_start
            order by lookback_actions desc
        ) as actions_rank
    from member_weeks
    where is_lookback_active
    window community_week as (partition by community_id, week_start)

),

core_members as (

    select
        community_id,
        week_start,
        lookback_active_members,
        lookback_actions > 0 and (actions_rank - 1) * 4 < lookback_active_members as is_core,
        -- Days silent as of the week's Sunday: 7 = nothing all week, 28 = the last action on
        -- the Sunday four weeks before.
        (week_start + 6) - last_action_on between 7 and 28 as is_silent
    from lookback_members

),

counted as (

    select
        community_id,
        week_start,
        max(lookback_active_members) as lookback_active_members,
        count(*) filter (where is_core) as core_members,
        count(*) filter (where is_core and is_silent) as quiet_core_members
    from core_members
    group by community_id, week_start

),

final as (

    select
        -- ids
        community_weeks.community_id,
        community_weeks.week_start,

        -- measures
        coalesce(counted.lookback_active_members, 0)::bigint as lookback_active_members,
        coalesce(counted.core_members, 0)::bigint as core_members,
        coalesce(counted.quiet_core_members, 0)::bigint as quiet_core_members

    from community_weeks
    left join counted
        on community_weeks.community_id = counted.community_id
        and community_weeks.week_start = counted.week_start

)

select * from final
