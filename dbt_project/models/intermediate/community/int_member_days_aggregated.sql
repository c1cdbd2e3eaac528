-- depends_on: {{ ref('int_member_days_reopened') }}
-- Member daily activity, incremental: the member-days a run reopens are deleted and counted
-- again from staging (index lookups per member-day: `actions`); a member-day left without
-- activity (its post moved to an earlier copy's day, say) is simply not written again.
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[
            {'columns': ['member_key', 'community_id', 'activity_date']},
            {'columns': ['community_id', 'activity_date']},
        ],
        pre_hook=["{{ delete_reopened(
            ref('int_member_days_reopened'), ['community_id', 'member_key', 'activity_date']
        ) }}"],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

{% if is_incremental() %}

reopened as (

    select * from {{ ref('int_member_days_reopened') }}

),

joins as (

    select
        memberships.community_id,
        memberships.member_key,
        memberships.occurred_on as activity_date,
        memberships.occurred_at as activity_at,
        'joined' as activity_type
    from {{ ref('stg_pulse__memberships') }} as memberships
    inner join reopened
        on memberships.member_key = reopened.member_key
        and memberships.community_id = reopened.community_id
        and memberships.occurred_on = reopened.activity_date
    where memberships.membership_action = 'joined'

),

-- Lateral, so that each reopened member-day is looked up in each table's (member_key,
-- community_id, day) index. Joined to the view by hash instead, the planner read every staging
-- table in full (962k rows on 1M events of history, for 860 member-days): a cost that grew
-- with the history, not with what arrived.
actions as (

    select actions.*
    from reopened
    cross join lateral (
        select unioned.*
        from {{ ref('int_member_actions_unioned') }} as unioned
        where
            unioned.member_key = reopened.member_key
            and unioned.community_id = reopened.community_id
            and unioned.activity_date = reopened.activity_date
        -- A fence, not paging (nothing is cut): keeps the planner from folding this back into
        -- a join of the whole view.
        offset 0  -- noqa: AM09
    ) as actions

),

{% else %}

joins as (

    select
        community_id,
        member_key,
        occurred_on as activity_date,
        occurred_at as activity_at,
        'joined' as activity_type
    from {{ ref('stg_pulse__memberships') }}
    where membership_action = 'joined'

),

actions as (

    select * from {{ ref('int_member_actions_unioned') }}

),

{% endif %}

activities as (

    select * from joins
    union all
    select * from actions

),

final as (

    select
        -- ids
        community_id,
        member_key,

        -- dimensions
        activity_date,
        date_trunc('week', activity_date::timestamp)::date as activity_week,

        -- measures
        count(*) filter (where activity_type = 'joined')::integer as joins,
        count(*) filter (where activity_type = 'posted')::integer as posts,
        count(*) filter (where activity_type = 'commented')::integer as comments,
        count(*) filter (where activity_type = 'reacted')::integer as reactions,
        count(*) filter (where activity_type = 'shared')::integer as shares,
        count(*) filter (where activity_type = 'submitted')::integer as ideas_submitted,
        count(*) filter (where activity_type = 'voted')::integer as votes,
        -- Joining makes a member active that day but is not an action of engagement.
        count(*) filter (where activity_type <> 'joined')::integer as actions,
        count(*) filter (where activity_type in ('posted', 'commented'))::integer as contributions,

        -- timestamps
        -- Observed membership orders a day's actions against its joins and leaves.
        min(activity_at) filter (where activity_type <> 'joined') as first_action_at,
        max(activity_at) filter (where activity_type <> 'joined') as last_action_at

    from activities
    group by community_id, member_key, activity_date

)

select * from final
