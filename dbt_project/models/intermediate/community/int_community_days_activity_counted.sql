-- depends_on: {{ ref('int_communities_reopened') }}
-- WAU/MAU: a member counts on day d when active on any of the 7 (30) days up to d. Each
-- member-day opens a window (int_member_days_windowed) that closes after 7 (30) days or at the
-- member's next active day, so a member's windows never overlap and a running sum of windows
-- opened less windows closed counts each member once.
--
-- Incremental: a community is rebuilt from its reopen_from on (nothing about who was active
-- changes before it, so no window opens or closes differently before it). The sums start from
-- the stored figures of the day before reopen_from and add the windows that open or close on
-- the rebuilt days, found by index: a run reads a few days of windows, never a month of
-- member days. The distinct counts are recomputed for the days the new data touches.
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

{% if is_incremental() %}

-- The days each community rebuilds: from reopen_from to its last calendar day. Windows that
-- end later (most MAU windows of the month) change nothing rebuilt and are not read.
rebuilt as (

    select
        spine.community_id,
        reopened.reopen_from,
        max(spine.activity_date) as rebuilt_through
    from spine
    inner join reopened
        on spine.community_id = reopened.community_id
    group by spine.community_id, reopened.reopen_from

),

-- Windows opened (members active that day) and closed, per rebuilt day with any. Lateral,
-- so that each rebuilt community reads three ranges of the windows' indexes (opened,
-- WAU closed, MAU closed on its rebuilt days); the fence keeps the planner from folding them
-- into joins of the whole table.
edges as (

    select
        rebuilt.community_id,
        community_edges.edge_on,
        community_edges.opened,
        community_edges.wau_closed,
        community_edges.mau_closed
    from rebuilt
    cross join lateral (  -- noqa: ST05
        select *
        from (
            select
                windows.activity_date as edge_on,
                1 as opened,
                0 as wau_closed,
                0 as mau_closed
            from {{ ref('int_member_days_windowed') }} as windows
            where
                windows.community_id = rebuilt.community_id
                and windows.activity_date between rebuilt.reopen_from and rebuilt.rebuilt_through

            union all

            select
                windows.wau_until as edge_on,
                0 as opened,
                1 as wau_closed,
                0 as mau_closed
            from {{ ref('int_member_days_windowed') }} as windows
            where
                windows.community_id = rebuilt.community_id
                and windows.wau_until between rebuilt.reopen_from and rebuilt.rebuilt_through

            union all

            select
                windows.mau_until as edge_on,
                0 as opened,
                0 as wau_closed,
                1 as mau_closed
            from {{ ref('int_member_days_windowed') }} as windows
            where
                windows.community_id = rebuilt.community_id
                and windows.mau_until between rebuilt.reopen_from and rebuilt.rebuilt_through
        ) as unfenced
        offset 0  -- noqa: AM09
    ) as community_edges

),

{% else %}

windows as (

    select * from {{ ref('int_member_days_windowed') }}

),

edges as (

    select
        community_id,
        activity_date as edge_on,
        1 as opened,
        0 as wau_closed,
        0 as mau_closed
    from windows

    union all

    select
        community_id,
        wau_until as edge_on,
        0 as opened,
        1 as wau_closed,
        0 as mau_closed
    from windows

    union all

    select
        community_id,
        mau_until as edge_on,
        0 as opened,
        0 as wau_closed,
        1 as mau_closed
    from windows

),

{% endif %}

edges_by_day as (

    select
        community_id,
        edge_on,
        sum(opened) as opened,
        sum(opened - wau_closed) as wau_delta,
        sum(opened - mau_closed) as mau_delta
    from edges
    group by community_id, edge_on

),

-- The figures the sums start from: the day before reopen_from as stored (none for a
-- community's first day, or in a full build: every sum starts at 0 there).
{% if is_incremental() %}

starting as (

    select
        reopened.community_id,
        reopened.reopen_from,
        coalesce(day_before.wau, 0) as wau,
        coalesce(day_before.mau, 0) as mau
    from reopened
    left join {{ this }} as day_before
        on reopened.community_id = day_before.community_id
        and reopened.reopen_from - 1 = day_before.activity_date

),

{% else %}

starting as (

    select
        community_id,
        reopen_from,
        0 as wau,
        0 as mau
    from reopened

),

{% endif %}

running_totals as (

    select
        spine.community_id,
        spine.activity_date,
        coalesce(edges_by_day.opened, 0) as active_members,
        starting.wau + sum(coalesce(edges_by_day.wau_delta, 0)) over community_days as wau,
        starting.mau + sum(coalesce(edges_by_day.mau_delta, 0)) over community_days as mau
    from spine
    inner join starting
        on spine.community_id = starting.community_id
    left join edges_by_day
        on spine.community_id = edges_by_day.community_id
        and spine.activity_date = edges_by_day.edge_on
    where spine.activity_date >= starting.reopen_from
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
