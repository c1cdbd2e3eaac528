-- depends_on: {{ ref('int_communities_reopened') }}
-- WAU/MAU: a member counts on day d when active on any of the 7 (30) days up to d. Each active
-- day opens a window that closes after 7 (30) days or at the member's next active day, so a
-- member's windows never overlap and a running sum of +1/-1 edges counts each member once.
--
-- Incremental: a community is rebuilt from its reopen_from on (nothing about who was active
-- changes before it). A member counts on a rebuilt day only when active within the 30 days
-- before it, so the member days from reopen_from - 30 on are all the sums need: their edges,
-- summed from that day, give the exact WAU and MAU of every rebuilt day. The distinct counts
-- are recomputed for the days the new data touches, from a month of member days, never more.
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

member_days as (

    select member_days.*
    from {{ ref('int_member_days_aggregated') }} as member_days
    inner join reopened
        on member_days.community_id = reopened.community_id
    where member_days.activity_date >= reopened.reopen_from - 30

),

activity_windows as (

    select
        community_id,
        activity_date,
        lead(activity_date) over (
            partition by community_id, member_key
            order by activity_date
        ) as next_active_on
    from member_days

),

activity_edges as (

    select
        community_id,
        activity_date as edge_on,
        1 as wau_delta,
        1 as mau_delta
    from activity_windows

    union all

    select
        community_id,
        least(activity_date + 7, next_active_on) as edge_on,
        -1 as wau_delta,
        0 as mau_delta
    from activity_windows

    union all

    select
        community_id,
        least(activity_date + 30, next_active_on) as edge_on,
        0 as wau_delta,
        -1 as mau_delta
    from activity_windows

),

edges_by_day as (

    select
        community_id,
        edge_on,
        sum(wau_delta) as wau_delta,
        sum(mau_delta) as mau_delta
    from activity_edges
    group by community_id, edge_on

),

daily_active as (

    select
        community_id,
        activity_date,
        count(*) as active_members
    from member_days
    group by community_id, activity_date

),

-- The sums start 30 days before the first day rebuilt (or at the community's first day).
summed_days as (

    select
        spine.community_id,
        spine.activity_date,
        reopened.reopen_from
    from spine
    inner join reopened
        on spine.community_id = reopened.community_id
    where spine.activity_date >= reopened.reopen_from - 30

),

running_totals as (

    select
        summed_days.community_id,
        summed_days.activity_date,
        summed_days.reopen_from,
        coalesce(daily_active.active_members, 0) as active_members,
        sum(coalesce(edges_by_day.wau_delta, 0)) over community_days as wau,
        sum(coalesce(edges_by_day.mau_delta, 0)) over community_days as mau
    from summed_days
    left join edges_by_day
        on summed_days.community_id = edges_by_day.community_id
        and summed_days.activity_date = edges_by_day.edge_on
    left join daily_active
        on summed_days.community_id = daily_active.community_id
        and summed_days.activity_date = daily_active.activity_date
    window community_days as (
        partition by summed_days.community_id
        order by summed_days.activity_date
        rows between unbounded preceding and current row
    )

),

final as (

    select
        -- ids
        community_id,
        activity_date,

        -- measures
        active_members::bigint as active_members,
        wau::bigint as wau,
        mau::bigint as mau

    from running_totals
    where activity_date >= reopen_from

)

select * from final
