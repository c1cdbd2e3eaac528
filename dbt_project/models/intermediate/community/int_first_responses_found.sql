-- depends_on: {{ ref('int_threads_reopened') }}
-- depends_on: {{ ref('int_ideas_reopened') }}
-- Incremental by item: the posts of the threads a run reopens and the ideas it reopens get
-- their first response found again (from their own comments and status changes, by index).
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[
            {'columns': ['community_id', 'item_id']},
            {'columns': ['community_id', 'created_on']},
        ],
        pre_hook=[
            "{{ delete_reopened(ref('int_threads_reopened'),
                {'community_id': 'community_id', 'item_id': 'post_id'},
                where=\"stored.item_type = 'post'\") }}",
            "{{ delete_reopened(ref('int_ideas_reopened'),
                {'community_id': 'community_id', 'item_id': 'idea_id'},
                where=\"stored.item_type = 'idea'\") }}",
        ],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

{% if is_incremental() %}

posts as (

    select posts.*
    from {{ ref('stg_pulse__posts') }} as posts
    inner join {{ ref('int_threads_reopened') }} as threads
        on posts.community_id = threads.community_id
        and posts.post_id = threads.post_id

),

ideas as (

    select ideas.*
    from {{ ref('stg_pulse__ideas') }} as ideas
    inner join {{ ref('int_ideas_reopened') }} as reopened
        on ideas.community_id = reopened.community_id
        and ideas.idea_id = reopened.idea_id

),

reopened_items as (

    select
        community_id,
        post_id as item_id
    from posts

    union

    select
        community_id,
        idea_id as item_id
    from ideas

),

-- Comments on the items only: a thread's comments name the post (or idea) as post_id.
comments as (

    select comments.*
    from {{ ref('stg_pulse__comments') }} as comments
    inner join reopened_items
        on comments.community_id = reopened_items.community_id
        and comments.post_id = reopened_items.item_id

),

status_changes as (

    select status_changes.*
    from {{ ref('stg_pulse__idea_status_changes') }} as status_changes
    inner join ideas
        on status_changes.community_id = ideas.community_id
        and status_changes.idea_id = ideas.idea_id

),

{% else %}

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

{% endif %}

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
