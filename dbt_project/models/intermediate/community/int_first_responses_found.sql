with

posts as (

    select * from {{ ref('stg_pulse__posts') }}

),

ideas as (

    select * from {{ ref('stg_pulse__ideas') }}

),

comments as (

    select * from {{ ref('stg_pulse__comments') }}

),

status_changes as (

    select * from {{ ref('stg_pulse__idea_status_changes') }}

),

-- Someone answered a post when anyone other than its author commented on it; the author's own
-- follow-ups are not an answer.
post_responses as (

    select
        posts.community_id,
        posts.post_id as item_id,
        min(comments.created_at) as first_response_at
    from posts
    inner join comments
        on posts.community_id = comments.community_id
        and posts.post_id = comments.post_id
        and posts.member_key <> comments.member_key
        and posts.created_at <= comments.created_at
    group by posts.community_id, posts.post_id

),

-- The brand answered an idea when it changed its status or commented on it, whichever came
-- first (moderators speak for the brand here too). Producers' clocks differ: a status change
-- dated before the idea's submission was made in answer to it, so it counts at the submission.
idea_responses as (

    select
        community_id,
        idea_id as item_id,
        min(responded_at) as first_response_at
    from (

        select
            ideas.community_id,
            ideas.idea_id,
            greatest(status_changes.changed_at, ideas.submitted_at) as responded_at
        from ideas
        inner join status_changes
            on ideas.community_id = status_changes.community_id
            and ideas.idea_id = status_changes.idea_id

        union all

        select
            ideas.community_id,
            ideas.idea_id,
            comments.created_at
        from ideas
        inner join comments
            on ideas.community_id = comments.community_id
            and ideas.idea_id = comments.post_id
            and comments.is_brand_voice
            and ideas.submitted_at <= comments.created_at

    ) as responses
    group by community_id, idea_id

),

items as (

    select
        'post' as item_type,
        posts.post_id as item_id,
        posts.community_id,
        posts.created_at,
        posts.created_on,
        post_responses.first_response_at
    from posts
    left join post_responses
        on posts.community_id = post_responses.community_id
        and posts.post_id = post_responses.item_id

    union all

    select
        'idea' as item_type,
        ideas.idea_id,
        ideas.community_id,
        ideas.submitted_at,
        ideas.submitted_on,
        idea_responses.first_response_at
    from ideas
    left join idea_responses
        on ideas.community_id = idea_responses.community_id
        and ideas.idea_id = idea_responses.item_id

),

final as (

    select
        -- ids
        item_type,
        item_id,
        community_id,

        -- measures
        round(
            (extract(epoch from first_response_at - created_at) / 60)::numeric, 2
        ) as first_response_minutes,

        -- timestamps
        created_at,
        created_on,
        first_response_at,
        (first_response_at at time zone 'UTC')::date as first_response_on

    from items

)

select * from final
