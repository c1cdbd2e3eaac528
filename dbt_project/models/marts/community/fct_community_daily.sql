-- depends_on: {{ ref('stg_pulse__erasures') }}
{#- Only incremental runs read the erasures, and dbt finds a model's refs by rendering it as a
    full refresh (is_incremental() is false then): the line above declares the one it misses. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['community_id', 'activity_date'],
        on_schema_change='append_new_columns'
    )
}}

with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

membership as (

    select * from {{ ref('int_community_days_membership_counted') }}

),

activity as (

    select * from {{ ref('int_community_days_activity_counted') }}

),

content as (

    select * from {{ ref('int_community_days_content_aggregated') }}

),

{% if is_incremental() %}

erasures as (

    select * from {{ ref('stg_pulse__erasures') }}

),

-- Late events land within `lookback_days` of the newest day built: rebuild from there.
reprocess_window as (

    select
        coalesce(
            max(activity_date) - {{ var('lookback_days') | int }},
            date '1970-01-01'
        ) as reprocess_from
    from {{ this }}

),

-- A post's engagement counts on the post's day, whenever it happens: engagement inside the
-- window reopens the older days of the posts it lands on.
reopened_post_days as (

    select
        content.community_id,
        content.activity_date
    from content
    cross join reprocess_window
    where
        content.posts_last_engaged_on >= reprocess_window.reprocess_from
        and content.activity_date < reprocess_window.reprocess_from

),

-- An erasure takes the member out of every day since their first event there (members, WAU,
-- MAU), so those days are rebuilt and match a full refresh.
reopened_erasure_days as (

    select
        spine.community_id,
        spine.activity_date
    from spine
    inner join erasures
        on spine.community_id = erasures.community_id
        and spine.activity_date >= erasures.first_erased_activity_on
    cross join reprocess_window
    where erasures.erasure_recorded_on >= reprocess_window.reprocess_from

),

days_to_build as (

    select
        spine.community_id,
        spine.activity_date
    from spine
    cross join reprocess_window
    where spine.activity_date >= reprocess_window.reprocess_from

    union

    select
        community_id,
        activity_date
    from reopened_post_days

    union

    select
        community_id,
        activity_date
    from reopened_erasure_days

),

{% else %}

days_to_build as (

    select
        community_id,
        activity_date
    from spine

),

{% endif %}

measured as (

    select
        days_to_build.community_id,
        days_to_build.activity_date,
        coalesce(activity.active_members, 0) < {{ min_group_size() }} as is_suppressed,
        membership.members_total,
        membership.members_new,
        membership.members_new_observed,
        membership.members_left,
        membership.members_at_start,
        activity.active_members,
        activity.wau,
        activity.mau,
        content.posts,
        content.comments,
        content.reactions,
        content.shares,
        content.ugc_posts,
        content.brand_posts,
        content.brand_comments,
        content.engagements,
        content.avg_sentiment,
        content.scored_items,
        content.negative_items,
        content.median_first_response_minutes
    from days_to_build
    left join membership
        on days_to_build.community_id = membership.community_id
        and days_to_build.activity_date = membership.activity_date
    left join activity
        on days_to_build.community_id = activity.community_id
        and days_to_build.activity_date = activity.activity_date
    left join content
        on days_to_build.community_id = content.community_id
        and days_to_build.activity_date = content.activity_date

),

final as (

    select
        -- ids
        community_id::text as community_id,
        activity_date::date as activity_date,

        -- dimensions
        is_suppressed::boolean as is_suppressed,

        -- measures (member-derived: null when the day has too few active members)
        {{ unless_suppressed('members_total') }}::integer as members_total,
        {{ unless_suppressed('members_new') }}::integer as members_new,
        {{ unless_suppressed('members_new_observed') }}::integer as members_new_observed,
        {{ unless_suppressed('members_left') }}::integer as members_left,
        {{ unless_suppressed('members_at_start') }}::integer as members_at_start,
        {{ unless_suppressed('active_members') }}::integer as active_members,
        {{ unless_suppressed('wau') }}::integer as wau,
        {{ unless_suppressed('mau') }}::integer as mau,
        {{ unless_suppressed(ratio('active_members', 'mau', 4)) }}::numeric(12, 4) as stickiness,
        {{ unless_suppressed('posts') }}::integer as posts,
        {{ unless_suppressed('comments') }}::integer as comments,
        {{ unless_suppressed('reactions') }}::integer as reactions,
        {{ unless_suppressed('shares') }}::integer as shares,
        {{ unless_suppressed('ugc_posts') }}::integer as ugc_posts,
        {{ unless_suppressed('brand_posts') }}::integer as brand_posts,
        {{ unless_suppressed(
            ratio('brand_posts + brand_comments', 'posts + comments', 4)
        ) }}::numeric(12, 4) as brand_voice_share,
        {{ unless_suppressed('engagements') }}::integer as engagements,
        {{ unless_suppressed(ratio('engagements', 'posts', 4)) }}::numeric(12, 4)
            as engagements_per_post,
        {{ unless_suppressed(
            ratio('engagements', 'posts * members_at_start', 6)
        ) }}::numeric(14, 6) as engagement_rate,
        {{ unless_suppressed('avg_sentiment') }}::numeric(12, 4) as avg_sentiment,
        {{ unless_suppressed(ratio('negative_items', 'scored_items', 4)) }}::numeric(12, 4)
            as negative_share,
        {{ unless_suppressed('median_first_response_minutes') }}::numeric(14, 2)
            as median_first_response_minutes

    from measured

)

select * from final
