-- One row per brand, ISO week and tag: fct_community_topics_weekly summed over the brand's
-- communities. Rebuilt in full on every run, as that mart and for the same reasons (its rows
-- are sums over that mart's weeks, and a brand-week moves with any of its communities').

with

{{ topic_weeks() }}

-- A brand's week has the figures of its communities shown that week, and is a week of the
-- mean when one of them is shown and whole there, with the posts of those.
brand_weeks as (

    select
        brand_id,
        week_start,
        sum(posts) filter (where is_shown) as posts,
        bool_or(is_shown and is_whole) as is_history
    from topic_community_weeks
    group by brand_id, week_start

),

brand_weeks_counted as (

    select
        *,
        count(*) filter (where is_history) over ({{ previous_4_weeks('brand_id') }})
            as history_weeks
    from brand_weeks

),

brand_tag_weeks as (

    select
        brand_id,
        week_start,
        tag,
        count(*) as communities,
        sum(posts) as posts,
        sum(engagements) as engagements,
        sum(posts) filter (where is_whole) as whole_week_posts
    from topic_tag_weeks
    group by brand_id, week_start, tag

),

tag_weeks as (

    select
        *,
        sum(whole_week_posts) over ({{ previous_4_weeks('brand_id, tag') }}) as history_posts
    from brand_tag_weeks

),

measured as (

    select
        tag_weeks.brand_id,
        tag_weeks.week_start,
        tag_weeks.tag,
        tag_weeks.communities,
        tag_weeks.posts,
        tag_weeks.engagements,
        tag_weeks.history_posts,
        brand_weeks_counted.posts as week_posts,
        brand_weeks_counted.history_weeks
    from tag_weeks
    inner join brand_weeks_counted
        on tag_weeks.brand_id = brand_weeks_counted.brand_id
        and tag_weeks.week_start = brand_weeks_counted.week_start

),

final as (

    select
        -- ids
        brand_id::text as brand_id,
        week_start::date as week_start,
        tag::text as tag,

        -- measures
        communities::bigint as communities,
        posts::bigint as posts,
        engagements::bigint as engagements,
        {{ ratio('posts', 'week_posts', 4) }}::numeric(12, 4) as share_of_posts,
        {{ ratio('engagements', 'posts', 4) }}::numeric(14, 4) as engagements_per_post,
        {{ topic_trend_columns('posts', 'history_posts', 'history_weeks') }}

    from measured

)

select * from final
