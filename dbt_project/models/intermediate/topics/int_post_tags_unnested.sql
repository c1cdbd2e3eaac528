-- depends_on: {{ ref('int_threads_reopened') }}
-- One row per post and tag, with the post's week and the engagement it received. Incremental by
-- thread, as int_posts_engagement_summed: a post whose copy, engagement or erasure arrived is
-- unnested again, from its winning copy's tags (stg_pulse__posts reopens the same posts).
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[
            {'columns': ['community_id', 'post_id']},
            {'columns': ['community_id', 'created_week']},
        ],
        pre_hook=["{{ delete_reopened(ref('int_threads_reopened'), ['community_id', 'post_id']) }}"],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

{% if is_incremental() %}

threads as (

    select * from {{ ref('int_threads_reopened') }}

),

posts as (

    select posts.*
    from {{ ref('stg_pulse__posts') }} as posts
    inner join threads
        on posts.community_id = threads.community_id
        and posts.post_id = threads.post_id

),

engagement as (

    select engagement.*
    from {{ ref('int_posts_engagement_summed') }} as engagement
    inner join threads
        on engagement.community_id = threads.community_id
        and engagement.post_id = threads.post_id

),

{% else %}

posts as (

    select * from {{ ref('stg_pulse__posts') }}

),

engagement as (

    select * from {{ ref('int_posts_engagement_summed') }}

),

{% endif %}

tagged as (

    select
        posts.community_id,
        posts.post_id,
        post_tags.tag,
        posts.created_week
    from posts
    cross join lateral jsonb_array_elements_text(posts.tags) as post_tags (tag)

),

final as (

    select
        -- ids
        tagged.community_id,
        tagged.post_id,

        -- dimensions
        tagged.tag,

        -- measures
        -- The post's engagement, received at any time, counts in the post's week (as the
        -- daily mart counts it on the post's day).
        coalesce(engagement.engagements, 0)::integer as engagements,

        -- timestamps
        tagged.created_week

    from tagged
    left join engagement
        on tagged.community_id = engagement.community_id
        and tagged.post_id = engagement.post_id

)

select * from final
