-- depends_on: {{ ref('int_member_days_reopened') }}
-- Each member-day opens an activity window: the member counts towards WAU (MAU) from that day
-- until the day before wau_until (mau_until), 7 (30) days later or the member's next active
-- day, whichever is first. A member's windows never overlap, so WAU and MAU are running sums of
-- windows opened less windows closed (int_community_days_activity_counted), and a run reads
-- the windows that open or close on the days it rebuilds, never a month of member days.
--
-- Incremental by member: a member with a reopened member-day on day m is rebuilt from m - 30
-- on. Only windows that open on or after m - 30 can end on or after m (where a new or lost
-- member-day can shorten or lengthen them), and their next active days are all in that range.
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
        pre_hook=["{{ delete_reopened(
            '(select community_id, member_key, min(activity_date) - 30 as rebuild_from
              from ' ~ ref('int_member_days_reopened') ~ ' group by community_id, member_key)',
            ['community_id', 'member_key'],
            where='stored.activity_date >= reopened.rebuild_from'
        ) }}"],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

{% if is_incremental() %}

reopened_members as (

    select
        community_id,
        member_key,
        min(activity_date) - 30 as rebuild_from
    from {{ ref('int_member_days_reopened') }}
    group by community_id, member_key

),

member_days as (

    select
        member_days.community_id,
        member_days.member_key,
        member_days.activity_date
    from {{ ref('int_member_days_aggregated') }} as member_days
    inner join reopened_members
        on member_days.member_key = reopened_members.member_key
        and member_days.community_id = reopened_members.community_id
    where member_days.activity_date >= reopened_members.rebuild_from

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
