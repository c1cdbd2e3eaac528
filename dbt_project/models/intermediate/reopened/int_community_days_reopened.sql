-- depends_on: {{ ref('int_member_days_reopened') }}
-- depends_on: {{ ref('int_threads_reopened') }}
-- depends_on: {{ ref('stg_pulse__posts') }}
-- depends_on: {{ ref('stg_pulse__event_deletions') }}
-- depends_on: {{ ref('int_community_days_spined') }}
-- The calendar days whose own figures (content, sentiment, first responses) the run may change:
-- the days of reopened member-days (what arrived, the copies of entities whose winner may move),
-- the day of every reopened thread's post (its engagement counts on the post's day), the days
-- an erasure touched, and days the base build does not have. A day's content is rebuilt only
-- for these. Empty in a full build.
{{
    config(
        materialized='table',
        indexes=[{'columns': ['community_id', 'activity_date']}],
        post_hook=["analyze {{ this }}"]
    )
}}

with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

{% if pulse_incremental() %}

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

    union

    select
        posts.community_id,
        posts.created_on as activity_date
    from {{ ref('stg_pulse__posts') }} as posts
    inner join {{ ref('int_threads_reopened') }} as threads
        on posts.community_id = threads.community_id
        and posts.post_id = threads.post_id

    union

    select
        community_id,
        occurred_on as activity_date
    from {{ ref('stg_pulse__event_deletions') }}

    union

    select
        spine.community_id,
        spine.activity_date
    from spine
    left join base_days
        on spine.community_id = base_days.community_id
        and spine.activity_date = base_days.activity_date
    where base_days.community_id is null

),

{% else %}

changed_days as (

    select
        null::text as community_id,
        null::date as activity_date
    where false

),

{% endif %}

final as (

    select
        -- ids
        spine.community_id,

        -- timestamps
        spine.activity_date

    from spine
    inner join changed_days
        on spine.community_id = changed_days.community_id
        and spine.activity_date = changed_days.activity_date

)

select * from final
