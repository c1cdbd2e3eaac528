with

posts as (

    select * from {{ ref('stg_pulse__posts') }}

),

engagements as (

    select * from {{ ref('int_post_engagements_resolved') }}

),

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
        -- A post's engagement counts on the post's day: fct_community_daily rebuilds that day
        -- when the post is engaged with again.
        per_post.last_engaged_on

    from posts
    left join per_post
        on posts.community_id = per_post.community_id
        and posts.post_id = per_post.post_id

)

select * from final
