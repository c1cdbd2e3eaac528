-- One row per community per day, rebuilt in full on every run: it joins the three day tables,
-- which are incremental (each rebuilds only the days a run reopens), so this costs what the
-- community-days are, never what raw holds. Suppression (macros/suppression.sql) looks at a
-- day's week and neighbours: rebuilt in full, it always sees them as they are now.

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

{{ suppressed_community_days('spine', 'activity') }}

days_to_build as (

    select
        community_id,
        activity_date,
        is_suppressed,
        hides_start,
        hides_total
    from suppressed_days

),

measured as (

    select
        days_to_build.community_id,
        days_to_build.activity_date,
        days_to_build.is_suppressed,
        -- membership figures a small neighbouring day hides (see suppressed_community_days)
        days_to_build.is_suppressed or days_to_build.hides_start as hides_start,
        days_to_build.is_suppressed or days_to_build.hides_total as hides_total,
        days_to_build.is_suppressed
        or days_to_build.hides_start
        or days_to_build.hides_total as hides_new,
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

        -- measures (member-derived: null when the day is suppressed; the membership figures
        -- also when a neighbouring day is, WAU and MAU only when their own window is small)
        {{ unless_suppressed('members_total', 'hides_total') }}::integer as members_total,
        {{ unless_suppressed('members_new', 'hides_new') }}::integer as members_new,
        {{ unless_suppressed('members_new_observed', 'hides_new') }}::integer
            as members_new_observed,
        {{ unless_suppressed('members_left') }}::integer as members_left,
        {{ unless_suppressed('members_at_start', 'hides_start') }}::integer as members_at_start,
        {{ unless_suppressed('active_members') }}::integer as active_members,
        (case when wau >= {{ min_group_size() }} then wau end)::integer as wau,
        (case when mau >= {{ min_group_size() }} then mau end)::integer as mau,
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
        -- It carries members_at_start: hidden with it.
        {{ unless_suppressed(
            ratio('engagements', 'posts * members_at_start', 6), 'hides_start'
        ) }}::numeric(14, 6) as engagement_rate,
        {{ unless_suppressed('avg_sentiment') }}::numeric(12, 4) as avg_sentiment,
        {{ unless_suppressed(ratio('negative_items', 'scored_items', 4)) }}::numeric(12, 4)
            as negative_share,
        {{ unless_suppressed('median_first_response_minutes') }}::numeric(14, 2)
            as median_first_response_minutes

    from measured

)

{{ with_brand('final') }}
