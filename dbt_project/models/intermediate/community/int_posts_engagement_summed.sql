-- depends_on: {{ ref('int_threads_reopened') }}
-- Incremental by thread, as the engagements it sums: a reopened post is summed again.
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[
            {'columns': ['community_id', 'post_id']},
            {'columns': ['community_id', 'created_on']},
            {'columns': ['community_id', 'created_week']},
            {'columns': ['member_key']},
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

engagements as (

    select engagements.*
    from {{ ref('int_post_engagements_resolved') }} as engagements
    inner join threads
        on engagements.community_id = threads.community_id
        and engagements.post_id = threads.post_id

),

{% else %}

posts as (

    select * from {{ ref('stg_pulse__posts') }}

),

engagements as (

    select * from {{ ref('int_post_engagements_resolved') }}

),

{% endif %}

-- A reaction taken back cancels the one added; more removals than additions (events lost or
-- out of order) never make a post's reactions negative.
per_post as (

    select
        community_id,
        post_id,
        count(*) filter (where engagement_type = 'comment') as comments,
        count(*) filter (where engagement_type = 'reaction' and engagement_delta > 0)
            as reactions_added,
        count(*) filter (where engagement_type = 'reaction' and engagement_delta < 0)
            as reactions_removed,
        greatest(
            coalesce(sum(engagement_delta) filter (where engagement_type = 'reaction'), 0), 0
        ) as reactions,
        count(*) filter (where engagement_type = 'share') as shares,
        max(engaged_on) as last_engaged_on
    from engagements
    group by community_id, post_id

),

final as (

    select
        -- ids
        posts.post_id,
        posts.community_id,
        posts.member_key,

        -- dimensions
        posts.author_role,
        posts.is_brand_voice,
        posts.content_type,

        -- measures
        posts.sentiment,
        coalesce(per_post.comments, 0)::integer as comments,
        coalesce(per_post.reactions_added, 0)::integer as reactions_added,
        coalesce(per_post.reactions_removed, 0)::integer as reactions_removed,
        coalesce(per_post.reactions, 0)::integer as reactions,
        coalesce(per_post.shares, 0)::integer as shares,
        (
            coalesce(per_post.comments, 0)
            + coalesce(per_post.reactions, 0)
            + coalesce(per_post.shares, 0)
        )::integer as engagements,

        -- timestamps
        posts.created_at,
        posts.created_on,
        posts.created_week,
        -- A post's engagement counts on the post's day, whenever it happens.
        per_post.last_engaged_on

    from posts
    left join per_post
        on posts.community_id = per_post.community_id
        and posts.post_id = per_post.post_id

)

select * from final
