-- depends_on: {{ ref('int_communities_reopened') }}
-- depends_on: {{ ref('int_community_days_spined') }}
-- depends_on: {{ ref('stg_pulse__communities') }}
-- depends_on: {{ ref('int_threads_reopened') }}
-- depends_on: {{ ref('int_posts_engagement_summed') }}
-- The brand weeks whose engagement lift the run may change: for every reopened community its
-- brand's weeks from the week before its reopen_from on (members at the start of a week, active
-- members and the week's posts change no earlier), also the weeks in which the community itself
-- no longer has a day (an erasure can move its first day later: the brand's week then counts
-- one community less), the week of every reopened thread's post
-- (engagement counts in the week the post was created), and every week of a community an
-- upsert moved to another brand or kind, for the old brand (the base build's dim_community)
-- and the new. Empty in a full build.
{{
    config(
        materialized='table',
        indexes=[{'columns': ['brand_id', 'week_start']}],
        post_hook=["analyze {{ this }}"]
    )
}}

with

{% if pulse_incremental() %}

communities as (

    select * from {{ ref('stg_pulse__communities') }}

),

community_weeks as (

    select distinct
        community_id,
        activity_week as week_start
    from {{ ref('int_community_days_spined') }}

),

base_communities as (

    select
        community_id,
        brand_id,
        community_kind
    from {{ base_build_mart('dim_community') }}

),

reclassified as (

    select
        communities.community_id,
        communities.brand_id,
        base_communities.brand_id as base_brand_id
    from communities
    left join base_communities
        on communities.community_id = base_communities.community_id
    where
        base_communities.community_id is null
        or communities.brand_id is distinct from base_communities.brand_id
        or communities.community_kind is distinct from base_communities.community_kind

),

brand_calendar as (

    select distinct
        communities.brand_id,
        community_weeks.week_start
    from community_weeks
    inner join communities
        on community_weeks.community_id = communities.community_id

),

-- The first week each brand's reopened communities can change: from there on every week of the
-- brand's calendar, whether the reopened community still has days in it or not.
community_reopen_weeks as (

    {{ community_reopen_weeks(none, true, days_before=1) }}

),

brands_reopened_from as (

    select
        communities.brand_id,
        min(community_reopen_weeks.reopen_week) as week_start
    from community_reopen_weeks
    inner join communities
        on community_reopen_weeks.community_id = communities.community_id
    group by communities.brand_id

),

thread_weeks as (

    select
        posts.community_id,
        posts.created_week as week_start
    from {{ ref('int_posts_engagement_summed') }} as posts
    inner join {{ ref('int_threads_reopened') }} as threads
        on posts.community_id = threads.community_id
        and posts.post_id = threads.post_id

),

brand_weeks as (

    select
        brand_calendar.brand_id,
        brand_calendar.week_start
    from brand_calendar
    inner join brands_reopened_from
        on brand_calendar.brand_id = brands_reopened_from.brand_id
        and brand_calendar.week_start >= brands_reopened_from.week_start

    union

    select
        communities.brand_id,
        thread_weeks.week_start
    from thread_weeks
    inner join communities
        on thread_weeks.community_id = communities.community_id

    union

    select
        reclassified.brand_id,
        community_weeks.week_start
    from reclassified
    inner join community_weeks
        on reclassified.community_id = community_weeks.community_id

    union

    select
        reclassified.base_brand_id as brand_id,
        community_weeks.week_start
    from reclassified
    inner join community_weeks
        on reclassified.community_id = community_weeks.community_id

),

{% else %}

brand_weeks as (

    select
        null::text as brand_id,
        null::date as week_start
    where false

),

{% endif %}

final as (

    select
        -- ids
        brand_id,

        -- timestamps
        week_start

    from brand_weeks
    where brand_id is not null

)

select * from final
