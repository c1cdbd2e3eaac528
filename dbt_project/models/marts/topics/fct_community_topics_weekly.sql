-- One row per community, ISO week and tag the week's posts carry. Rebuilt in full on every run,
-- not incrementally: it reads the tagged posts (int_post_tags_unnested, kept incrementally by
-- thread), fct_community_health's week flags, the calendar and the community-days' post counts,
-- all far smaller than raw, and that costs less than working out what a run reopens here: beside
-- the weeks of reopened posts, the four weeks after each (their mean), every week whose
-- suppression moved (fct_community_health reopens from a community's reopen_from) and the
-- weeks an erasure took from the calendar. Rebuilt, incremental equals full by construction.

with

{{ topic_weeks() }}

community_weeks as (

    select
        *,
        count(*) filter (where is_shown and is_whole) over (
            {{ previous_4_weeks('community_id') }}
        ) as history_weeks
    from topic_community_weeks

),

tag_weeks as (

    select
        *,
        sum(posts) filter (where is_whole) over (
            {{ previous_4_weeks('community_id, tag') }}
        ) as history_posts
    from topic_tag_weeks

),

measured as (

    select
        tag_weeks.community_id,
        tag_weeks.brand_id,
        tag_weeks.week_start,
        tag_weeks.tag,
        tag_weeks.posts,
        tag_weeks.engagements,
        tag_weeks.history_posts,
        community_weeks.posts as week_posts,
        community_weeks.history_weeks
    from tag_weeks
    inner join community_weeks
        on tag_weeks.community_id = community_weeks.community_id
        and tag_weeks.week_start = community_weeks.week_start

),

final as (

    select
        -- ids
        community_id::text as community_id,
        brand_id::text as brand_id,
        week_start::date as week_start,
        tag::text as tag,

        -- measures
        posts::bigint as posts,
        engagements::bigint as engagements,
        {{ ratio('posts', 'week_posts', 4) }}::numeric(12, 4) as share_of_posts,
        {{ ratio('engagements', 'posts', 4) }}::numeric(14, 4) as engagements_per_post,
        {{ topic_trend_columns('posts', 'history_posts', 'history_weeks') }}

    from measured

)

select * from final
