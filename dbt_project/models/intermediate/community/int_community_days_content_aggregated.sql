with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

posts as (

    select * from {{ ref('int_posts_engagement_summed') }}

),

comments as (

    select * from {{ ref('stg_pulse__comments') }}

),

reactions as (

    select * from {{ ref('stg_pulse__reactions') }}

),

shares as (

    select * from {{ ref('stg_pulse__shares') }}

),

post_responses as (

    select * from {{ ref('int_first_responses_found') }}
    where item_type = 'post'

),

-- One pass over the day's content: posts carry the engagement they received at any time (a
-- day's engagement is that of its posts), posts and comments carry what was written.
content_items as (

    select
        community_id,
        created_on as activity_date,
        'post' as item_type,
        is_brand_voice,
        sentiment,
        engagements,
        last_engaged_on
    from posts

    union all

    select
        community_id,
        created_on as activity_date,
        'comment' as item_type,
        is_brand_voice,
        sentiment,
        null as engagements,
        null as last_engaged_on
    from comments

    union all

    -- Reactions added that day; a removal is not subtracted here.
    select
        community_id,
        reacted_on as activity_date,
        'reaction' as item_type,
        null as is_brand_voice,
        null as sentiment,
        null as engagements,
        null as last_engaged_on
    from reactions
    where reaction_action = 'added'

    union all

    select
        community_id,
        shared_on as activity_date,
        'share' as item_type,
        null as is_brand_voice,
        null as sentiment,
        null as engagements,
        null as last_engaged_on
    from shares

),

-- Sentiment of what was written that day; VADER's convention: compound <= -0.05 is negative.
daily_items as (

    select
        community_id,
        activity_date,
        count(*) filter (where item_type = 'post') as posts,
        count(*) filter (where item_type = 'post' and not is_brand_voice) as ugc_posts,
        count(*) filter (where item_type = 'post' and is_brand_voice) as brand_posts,
        count(*) filter (where item_type = 'comment') as comments,
        count(*) filter (where item_type = 'comment' and is_brand_voice) as brand_comments,
        count(*) filter (where item_type = 'reaction') as reactions,
        count(*) filter (where item_type = 'share') as shares,
        sum(engagements) as engagements,
        avg(sentiment) as avg_sentiment,
        count(sentiment) as scored_items,
        count(*) filter (where sentiment <= -0.05) as negative_items,
        max(last_engaged_on) as posts_last_engaged_on
    from content_items
    group by community_id, activity_date

),

daily_responses as (

    select
        community_id,
        created_on as activity_date,
        percentile_cont(0.5) within group (order by first_response_minutes) as median_minutes
    from post_responses
    where first_response_minutes is not null
    group by community_id, created_on

),

final as (

    select
        -- ids
        spine.community_id,
        spine.activity_date,

        -- measures
        coalesce(daily_items.posts, 0) as posts,
        coalesce(daily_items.comments, 0) as comments,
        coalesce(daily_items.reactions, 0) as reactions,
        coalesce(daily_items.shares, 0) as shares,
        coalesce(daily_items.ugc_posts, 0) as ugc_posts,
        coalesce(daily_items.brand_posts, 0) as brand_posts,
        coalesce(daily_items.brand_comments, 0) as brand_comments,
        coalesce(daily_items.engagements, 0)::bigint as engagements,
        round(daily_items.avg_sentiment::numeric, 4) as avg_sentiment,
        coalesce(daily_items.scored_items, 0) as scored_items,
        coalesce(daily_items.negative_items, 0) as negative_items,
        round(daily_responses.median_minutes::numeric, 2) as median_first_response_minutes,

        -- timestamps
        -- The latest day any of the day's posts was engaged with: fct_community_daily rebuilds
        -- the day when that falls in the days it rebuilds anyway.
        daily_items.posts_last_engaged_on

    from spine
    left join daily_items
        on spine.community_id = daily_items.community_id
        and spine.activity_date = daily_items.activity_date
    left join daily_responses
        on spine.community_id = daily_responses.community_id
        and spine.activity_date = daily_responses.activity_date

)

select * from final
