-- depends_on: {{ ref('int_community_days_reopened') }}
-- The content of each community-day. Incremental by day: the days a run reopens
-- (int_community_days_reopened: days of what arrived, days of posts engaged with again, days an
-- erasure touched, new days) are aggregated again, each from its own content.
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[{'columns': ['community_id', 'activity_date'], 'unique': true}],
        pre_hook=[
            "{{ delete_reopened(
                ref('int_community_days_reopened'), ['community_id', 'activity_date']
            ) }}",
            "{{ delete_outside_spine(ref('int_community_days_spined')) }}",
        ]
    )
}}

with

{% if is_incremental() %}

days as (

    select * from {{ ref('int_community_days_reopened') }}

),

content_items as (

    select items.*
    from {{ ref('int_content_items_unioned') }} as items
    inner join days
        on items.community_id = days.community_id
        and items.activity_date = days.activity_date

),

post_responses as (

    select responses.*
    from {{ ref('int_first_responses_found') }} as responses
    inner join days
        on responses.community_id = days.community_id
        and responses.created_on = days.activity_date
    where responses.item_type = 'post'

),

{% else %}

days as (

    select * from {{ ref('int_community_days_spined') }}

),

content_items as (

    select * from {{ ref('int_content_items_unioned') }}

),

post_responses as (

    select * from {{ ref('int_first_responses_found') }}
    where item_type = 'post'

),

{% endif %}

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
        -- In numeric, where a sum does not depend on the order rows come in (a sum of doubles
        -- does, and its 4th decimal would then differ between an incremental and a full build).
        avg(sentiment::numeric) as avg_sentiment,
        count(sentiment) as scored_items,
        count(*) filter (where sentiment <= -0.05) as negative_items
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
        days.community_id,
        days.activity_date,

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
        round(daily_responses.median_minutes::numeric, 2) as median_first_response_minutes

    from days
    left join daily_items
        on days.community_id = daily_items.community_id
        and days.activity_date = daily_items.activity_date
    left join daily_responses
        on days.community_id = daily_responses.community_id
        and days.activity_date = daily_responses.activity_date

)

select * from final
