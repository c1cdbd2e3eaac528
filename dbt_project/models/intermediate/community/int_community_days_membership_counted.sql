-- depends_on: {{ ref('int_communities_reopened') }}
-- A member counts on every day of a membership, the day it ends included: +1 on the day it
-- starts, -1 on the day after it ends; the running sum is the day's members.
--
-- Incremental: a community is rebuilt from its reopen_from (int_communities_reopened) on; no
-- membership changes before that day. Only memberships still under way on reopen_from (open, or
-- ended on or after it) can count on the rebuilt days, so the running sum starts from those
-- that began earlier and adds the edges from reopen_from on: a read of the community's current
-- members, not of its history.
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[{'columns': ['community_id', 'activity_date'], 'unique': true}],
        pre_hook=["{{ delete_reopened_days(
            ref('int_communities_reopened'), ref('int_community_days_spined')
        ) }}"]
    )
}}

with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

{% if is_incremental() %}

reopened as (

    select * from {{ ref('int_communities_reopened') }}

),

{% else %}

reopened as (

    select
        community_id,
        min(activity_date) as reopen_from
    from spine
    group by community_id

),

{% endif %}

days as (

    select
        spine.community_id,
        spine.activity_date
    from spine
    inner join reopened
        on spine.community_id = reopened.community_id
    where spine.activity_date >= reopened.reopen_from

),

memberships as (

    select
        memberships.*,
        reopened.reopen_from
    from {{ ref('int_memberships_observed') }} as memberships
    inner join reopened
        on memberships.community_id = reopened.community_id
    where memberships.ended_on is null or memberships.ended_on >= reopened.reopen_from

),

membership_edges as (

    -- Under way on reopen_from, or starting later: counts from the later of the two on.
    select
        community_id,
        greatest(started_on, reopen_from) as edge_on,
        1 as member_delta,
        0 as joins,
        0 as observed_joins,
        0 as leaves
    from memberships

    union all

    -- A new membership counts as new on the day it starts.
    select
        community_id,
        started_on as edge_on,
        0 as member_delta,
        1 as joins,
        (join_source = 'observed')::integer as observed_joins,
        0 as leaves
    from memberships
    where started_on >= reopen_from

    union all

    select
        community_id,
        ended_on + 1 as edge_on,
        -1 as member_delta,
        0 as joins,
        0 as observed_joins,
        0 as leaves
    from memberships
    where ended_on is not null

    union all

    select
        community_id,
        ended_on as edge_on,
        0 as member_delta,
        0 as joins,
        0 as observed_joins,
        1 as leaves
    from memberships
    where ended_on is not null

),

edges_by_day as (

    select
        community_id,
        edge_on,
        sum(member_delta) as member_delta,
        sum(joins) as joins,
        sum(observed_joins) as observed_joins,
        sum(leaves) as leaves
    from membership_edges
    group by community_id, edge_on

),

running_totals as (

    select
        days.community_id,
        days.activity_date,
        coalesce(edges_by_day.joins, 0) as members_new,
        coalesce(edges_by_day.observed_joins, 0) as members_new_observed,
        coalesce(edges_by_day.leaves, 0) as members_left,
        sum(coalesce(edges_by_day.member_delta, 0)) over community_days as members_total
    from days
    left join edges_by_day
        on days.community_id = edges_by_day.community_id
        and days.activity_date = edges_by_day.edge_on
    window community_days as (
        partition by days.community_id
        order by days.activity_date
        rows between unbounded preceding and current row
    )

),

final as (

    select
        -- ids
        community_id,
        activity_date,

        -- measures
        members_total::bigint as members_total,
        members_new::bigint as members_new,
        members_new_observed::bigint as members_new_observed,
        members_left::bigint as members_left,
        -- Members at the start of the day: the day's members but those whose membership began
        -- that day.
        (members_total - members_new)::bigint as members_at_start

    from running_totals

)

select * from final
