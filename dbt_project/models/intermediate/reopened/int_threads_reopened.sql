-- depends_on: {{ ref('base_pulse__events_arrived') }}
-- depends_on: {{ ref('base_pulse__events_retained') }}
-- depends_on: {{ ref('stg_pulse__event_deletions') }}
-- The threads (posts, and ideas on a portal) whose engagement the run's arrivals may change:
-- new posts, the threads of arrived comments, shares and reactions, the threads of comments
-- reacted to (through every copy of the comment: which copy wins decides the thread), and
-- what an erasure took. Post engagement, first responses and the day a post counts on are
-- rebuilt for these threads only. Empty in a full build.
{{
    config(
        materialized='table',
        indexes=[{'columns': ['community_id', 'post_id']}],
        post_hook=["analyze {{ this }}"]
    )
}}

with

{% if pulse_incremental() %}

arrived as (

    select * from {{ ref('base_pulse__events_arrived') }}
    where event_type in (
        'post.created', 'comment.created', 'content.shared', 'reaction.added', 'reaction.removed'
    )

),

deletions as (

    select * from {{ ref('stg_pulse__event_deletions') }}

),

reopened_comments as (

    select
        community_id,
        entity_id as comment_id
    from arrived
    where event_type = 'comment.created'

    union

    select
        community_id,
        payload ->> 'target_id' as comment_id
    from arrived
    where
        event_type in ('reaction.added', 'reaction.removed')
        and payload ->> 'target_type' = 'comment'

    union

    select
        community_id,
        item_id as comment_id
    from deletions
    where item_kind = 'comment'

),

comment_threads as (

    select
        retained.community_id,
        retained.payload ->> 'post_id' as post_id
    from {{ ref('base_pulse__events_retained') }} as retained
    inner join reopened_comments
        on retained.community_id = reopened_comments.community_id
        and retained.entity_id = reopened_comments.comment_id
    where retained.event_type = 'comment.created'

),

threads as (

    select
        community_id,
        entity_id as post_id
    from arrived
    where event_type = 'post.created'

    union

    select
        community_id,
        payload ->> 'post_id' as post_id
    from arrived
    where event_type in ('comment.created', 'content.shared')

    union

    select
        community_id,
        payload ->> 'target_id' as post_id
    from arrived
    where
        event_type in ('reaction.added', 'reaction.removed')
        and payload ->> 'target_type' = 'post'

    union

    select
        community_id,
        post_id
    from comment_threads

    union

    select
        community_id,
        item_id as post_id
    from deletions
    where item_kind = 'post'

),

{% else %}

threads as (

    select
        null::text as community_id,
        null::text as post_id
    where false

),

{% endif %}

final as (

    select
        -- ids
        community_id,
        post_id

    from threads
    where post_id is not null

)

select * from final
