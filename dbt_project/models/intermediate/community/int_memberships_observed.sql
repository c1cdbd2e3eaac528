-- depends_on: {{ ref('int_member_days_reopened') }}
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[
            {'columns': ['member_key', 'community_id']},
            {'columns': ['community_id', 'ended_on']},
            {'columns': ['community_id', 'started_on']},
        ],
        pre_hook=["{{ delete_reopened(
            ref('int_member_days_reopened'), ['community_id', 'member_key']
        ) }}"],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}
-- Observed membership, the one place the rule is written. Deployments connect to communities that
-- already exist, so most members never send member.joined: whoever is seen in a community is a
-- member of it. A join or any action while not a member starts a membership; a leave ends it; a
-- join while a member, or a leave while not one, changes nothing.
--
-- Memberships are kept by UTC day: a member counts on every day they were a member at some
-- moment, so a day's active members are always among its members. Within a day only the last
-- event matters for the days after it: a leave that comes after the day's last join and last
-- action ends the membership at the end of that day; anything else keeps (or makes) it going.
--
-- Incremental: a member whose member-days a run reopens has all their memberships of that
-- community worked out again (a late event may split or join them, and numbers them anew);
-- that is a few rows of staging and member days per member, found by index.

with

{% if is_incremental() %}

reopened as (

    select distinct
        community_id,
        member_key
    from {{ ref('int_member_days_reopened') }}

),

memberships as (

    select memberships.*
    from {{ ref('stg_pulse__memberships') }} as memberships
    inner join reopened
        on memberships.member_key = reopened.member_key
        and memberships.community_id = reopened.community_id

),

member_days as (

    select member_days.*
    from {{ ref('int_member_days_aggregated') }} as member_days
    inner join reopened
        on member_days.member_key = reopened.member_key
        and member_days.community_id = reopened.community_id

),

{% else %}

memberships as (

    select * from {{ ref('stg_pulse__memberships') }}

),

member_days as (

    select * from {{ ref('int_member_days_aggregated') }}

),

{% endif %}

joins_by_day as (

    select
        community_id,
        member_key,
        occurred_on as activity_date,
        max(occurred_at) as last_joined_at,
        (array_agg(join_source order by occurred_at, event_id))[1] as join_source
    from memberships
    where membership_action = 'joined'
    group by community_id, member_key, occurred_on

),

leaves_by_day as (

    select
        community_id,
        member_key,
        occurred_on as activity_date,
        max(occurred_at) as last_left_at
    from memberships
    where membership_action = 'left'
    group by community_id, member_key, occurred_on

),

actions_by_day as (

    select
        community_id,
        member_key,
        activity_date,
        last_action_at
    from member_days
    where actions > 0

),

-- Every day on which a member sent a join, a leave or an action.
event_days as (

    select
        coalesce(joins.community_id, actions.community_id, leaves.community_id) as community_id,
        coalesce(joins.member_key, actions.member_key, leaves.member_key) as member_key,
        coalesce(joins.activity_date, actions.activity_date, leaves.activity_date)
            as activity_date,
        joins.join_source,
        joins.last_joined_at is not null or actions.last_action_at is not null as is_seen,
        -- The day's last event is a leave (a tie goes to the leave): not a member afterwards.
        leaves.last_left_at is not null
        and leaves.last_left_at >= coalesce(
            greatest(joins.last_joined_at, actions.last_action_at), '-infinity'::timestamptz
        ) as ends_with_leave
    from joins_by_day as joins
    full outer join actions_by_day as actions
        on joins.community_id = actions.community_id
        and joins.member_key = actions.member_key
        and joins.activity_date = actions.activity_date
    full outer join leaves_by_day as leaves
        on coalesce(joins.community_id, actions.community_id) = leaves.community_id
        and coalesce(joins.member_key, actions.member_key) = leaves.member_key
        and coalesce(joins.activity_date, actions.activity_date) = leaves.activity_date

),

-- A member is one at the end of a day when seen that day and not gone by its end; a day with
-- only a leave never leaves a member behind. So the state carried into a day is a single lag.
carried as (

    select
        *,
        is_seen and not ends_with_leave as is_member_at_end,
        coalesce(
            lag(is_seen and not ends_with_leave) over (
                partition by community_id, member_key
                order by activity_date
            ),
            false
        ) as was_member_before
    from event_days

),

member_days_marked as (

    select
        *,
        not was_member_before as starts_membership
    from carried
    where is_seen or was_member_before

),

numbered as (

    select
        *,
        count(*) filter (where starts_membership) over (
            partition by community_id, member_key
            order by activity_date
            rows between unbounded preceding and current row
        ) as membership_number
    from member_days_marked

),

final as (

    select
        -- ids
        community_id,
        member_key,
        membership_number::integer as membership_number,

        -- dimensions
        coalesce(
            min(join_source) filter (where starts_membership), 'observed'
        )::text as join_source,

        -- timestamps
        min(activity_date) as started_on,
        -- Null while the membership lasts.
        max(activity_date) filter (where not is_member_at_end) as ended_on

    from numbered
    group by community_id, member_key, membership_number

)

select * from final
