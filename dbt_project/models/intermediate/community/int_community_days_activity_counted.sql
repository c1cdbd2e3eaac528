-- WAU/MAU: a member counts on day d when active on any of the 7 (30) days up to d. Each active
-- day opens a window that closes after 7 (30) days or at the member's next active day, so a
-- member's windows never overlap and a running sum of +1/-1 edges counts each member once.

with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

member_days as (

    select * from {{ ref('int_member_days_aggregated') }}

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

-- Running sums need every day from the community's first, not only the days a mart rebuilds.
running_totals as (

    select
        spine.community_id,
        spine.activity_date,
        coalesce(daily_active.active_members, 0) as active_members,
        sum(coalesce(edges_by_day.wau_delta, 0)) over community_days as wau,
        sum(coalesce(edges_by_day.mau_delta, 0)) over community_days as mau
    from spine
    left join edges_by_day
        on spine.community_id = edges_by_day.community_id
        and spine.activity_date = edges_by_day.edge_on
    left join daily_active
        on spine.community_id = daily_active.community_id
        and spine.activity_date = daily_active.activity_date
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
        active_members::bigint as active_members,
        wau::bigint as wau,
        mau::bigint as mau

    from running_totals

)

select * from final
