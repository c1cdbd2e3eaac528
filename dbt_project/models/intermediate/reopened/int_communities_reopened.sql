-- depends_on: {{ ref('int_member_days_reopened') }}
-- depends_on: {{ ref('stg_pulse__event_deletions') }}
-- depends_on: {{ ref('int_community_days_spined') }}
-- Per community, the first day whose running figures (members, WAU, MAU, week-end members,
-- cohorts) the run may change: the earliest member-day reopened, the earliest day an erasure
-- touched, and the first calendar day the base build does not have (a new community, a first
-- day moved earlier, new days at the end). A membership or an activity window can only change
-- from the day of the event that changed it on, so every day before reopen_from is as the base
-- build has it. Empty in a full build.
{{
    config(
        materialized='table',
        indexes=[{'columns': ['community_id']}],
        post_hook=["analyze {{ this }}"]
    )
}}

with

{% if pulse_incremental() %}

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

base_days as (

    select
        community_id,
        activity_date
    from {{ base_build_mart('fct_community_daily') }}

),

changed_days as (

    select
        community_id,
        activity_date
    from {{ ref('int_member_days_reopened') }}

    union all

    select
        community_id,
        occurred_on as activity_date
    from {{ ref('stg_pulse__event_deletions') }}

    union all

    select
        spine.community_id,
        spine.activity_date
    from spine
    left join base_days
        on spine.community_id = base_days.community_id
        and spine.activity_date = base_days.activity_date
    where base_days.community_id is null

),

reopened as (

    select
        community_id,
        min(activity_date) as reopen_from
    from changed_days
    group by community_id

),

{% else %}

reopened as (

    select
        null::text as community_id,
        null::date as reopen_from
    where false

),

{% endif %}

final as (

    select
        -- ids
        community_id,

        -- timestamps
        reopen_from

    from reopened

)

select * from final
