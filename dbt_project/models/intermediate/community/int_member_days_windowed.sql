-- depends_on: {{ ref('int_member_days_reopened') }}
-- Each member-day opens an activity window: the member counts towards WAU (MAU) from that day
-- until the day before wau_until (mau_until), 7 (30) days later or the member's next active
-- day, whichever is first. A member's windows never overlap, so WAU and MAU are running sums of
-- windows opened less windows closed (int_community_days_activity_counted), and a run reads
-- the windows that open or close on the days it rebuilds, never a month of member days.
--
-- Incremental by member: a member whose first reopened member-day is m is rebuilt from the
-- last active day before m on (member_windows_rebuilt). That day's window may now end at a new
-- next active day; the windows before it end at or before it, at days that did not change. So a
-- run rewrites about two windows per member it touches, found by index.
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[
            {'columns': ['member_key', 'community_id', 'activity_date'], 'unique': true},
            {'columns': ['community_id', 'activity_date']},
            {'columns': ['community_id', 'wau_until']},
            {'columns': ['community_id', 'mau_until']},
        ],
        pre_hook=["{{ delete_rebuilt_windows(
            ref('int_member_days_reopened'), ref('int_member_days_aggregated')
        ) }}"],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

{% if is_incremental() %}

rebuilt_members as (

    select * from {{ member_windows_rebuilt(
        ref('int_member_days_reopened'), ref('int_member_days_aggregated')
    ) }} as rebuilt

),

-- Lateral, so that each member's days are one range of the (member_key, community_id, day)
-- index; the fence keeps the planner from folding it into a join of the whole table.
member_days as (

    select
        rebuilt_members.community_id,
        rebuilt_members.member_key,
        member_days.activity_date
    from rebuilt_members
    cross join lateral (
        select aggregated.activity_date
        from {{ ref('int_member_days_aggregated') }} as aggregated
        where
            aggregated.member_key = rebuilt_members.member_key
            and aggregated.community_id = rebuilt_members.community_id
            and aggregated.activity_date >= rebuilt_members.rebuild_from
        offset 0  -- noqa: AM09
    ) as member_days

),

{% else %}

member_days as (

    select
        community_id,
        member_key,
        activity_date
    from {{ ref('int_member_days_aggregated') }}

),

{% endif %}

windowed as (

    select
        community_id,
        member_key,
        activity_date,
        lead(activity_date) over (
            partition by community_id, member_key
            order by activity_date
        ) as next_active_on
    from member_days

),

final as (

    select
        -- ids
        community_id,
        member_key,

        -- timestamps
        activity_date,
        least(activity_date + 7, next_active_on) as wau_until,
        least(activity_date + 30, next_active_on) as mau_until

    from windowed

)

select * from final
