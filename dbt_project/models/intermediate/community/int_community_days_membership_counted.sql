-- A member counts on every day of a membership, the day it ends included: +1 on the day it
-- starts, -1 on the day after it ends; the running sum is the day's members.

with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

memberships as (

    select * from {{ ref('int_memberships_observed') }}

),

membership_edges as (

    select
        community_id,
        started_on as edge_on,
        1 as member_delta,
        1 as joins,
        (join_source = 'observed')::integer as observed_joins,
        0 as leaves
    from memberships

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

-- Running sums need every day from the community's first, not only the days a mart rebuilds.
running_totals as (

    select
        spine.community_id,
        spine.activity_date,
        coalesce(edges_by_day.joins, 0) as members_new,
        coalesce(edges_by_day.observed_joins, 0) as members_new_observed,
        coalesce(edges_by_day.leaves, 0) as members_left,
        sum(coalesce(edges_by_day.member_delta, 0)) over community_days as members_total
    from spine
    left join edges_by_day
        on spine.community_id = edges_by_day.community_id
        and spine.activity_date = edges_by_day.edge_on
    window community_days as (
        partition by spine.community_id
        order by spine.activity_date
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
