-- Every engagement lands on a thread: a comment or share on its post, a reaction on the post
-- itself or on one of its comments (reacting to the conversation under a post is engaging
-- with the post).
--
-- Incremental by thread: the engagements of every thread a run reopens are resolved again (its
-- comments, the reactions on it and on its comments, its shares, each found by index); a
-- reaction whose comment arrived only now lands on that comment's post then.
-- depends_on: {{ ref('int_threads_reopened') }}
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[{'columns': ['community_id', 'post_id']}],
        pre_hook=["{{ delete_reopened(ref('int_threads_reopened'), ['community_id', 'post_id']) }}"],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

{% if is_incremental() %}

threads as (

    select * from {{ ref('int_threads_reopened') }}

),

comments as (

    select comments.*
    from {{ ref('stg_pulse__comments') }} as comments
    inner join threads
        on comments.community_id = threads.community_id
        and comments.post_id = threads.post_id

),

reactions as (

    select reactions.*
    from {{ ref('stg_pulse__reactions') }} as reactions
    inner join threads
        on reactions.community_id = threads.community_id
        and reactions.target_id = threads.post_id
    where reactions.target_type = 'post'

    union all

    select reactions.*
    from {{ ref('stg_pulse__reactions') }} as reactions
    inner join comments
        on reactions.community_id = comments.community_id
        and reactions.target_id = comments.comment_id
    where reactions.target_type = 'comment'

),

shares as (

    select shares.*
    from {{ ref('stg_pulse__shares') }} as shares
    inner join threads
        on shares.community_id = threads.community_id
        and shares.post_id = threads.post_id

),

{% else %}

comments as (

    select * from {{ ref('stg_pulse__comments') }}

),

reactions as (

    select * from {{ ref('stg_pulse__reactions') }}

),

shares as (

    select * from {{ ref('stg_pulse__shares') }}

),

{% endif %}

engagements as (

    select
        event_id,
        community_id,
        post_id,
        'comment' as engagement_type,
        1 as engagement_delta,
        created_at as engaged_at,
        created_on as engaged_on
    from comments

    union all

    select
        event_id,
        community_id,
        target_id as post_id,
        'reaction' as engagement_type,
        reaction_delta as engagement_delta,
        reacted_at as engaged_at,
        reacted_on as engaged_on
    from reactions
    where target_type = 'post'

    union all

    select
        reactions.event_id,
        reactions.community_id,
        comments.post_id,
        'reaction' as engagement_type,
        reactions.reaction_delta as engagement_delta,
        reactions.reacted_at as engaged_at,
        reactions.reacted_on as engaged_on
    from reactions
    inner join comments
        on reactions.community_id = comments.community_id
        and reactions.target_id = comments.comment_id
    where reactions.target_type = 'comment'

    union all

    select
        event_id,
        community_id,
        post_id,
        'share' as engagement_type,
        1 as engagement_delta,
        shared_at as engaged_at,
        shared_on as engaged_on
    from shares

),

final as (

    select
        -- ids
        event_id,
        community_id,
        -- The thread: a post, or on a feedback portal an idea.
        post_id,

        -- dimensions
        engagement_type,

        -- measures
        engagement_delta,

        -- timestamps
        engaged_at,
        engaged_on

    from engagements

)

select * from final
