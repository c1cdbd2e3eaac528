-- depends_on: {{ ref('base_pulse__events_retained') }}
-- depends_on: {{ ref('stg_pulse__event_deletions') }}
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='delete+insert',
        unique_key=['community_id', 'comment_id'],
        indexes=[
            {'columns': ['community_id', 'comment_id'], 'unique': true},
            {'columns': ['community_id', 'post_id']},
            {'columns': ['member_key', 'community_id', 'created_on']},
            {'columns': ['community_id', 'created_on']},
        ],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

{% if is_incremental() %}

-- As for posts: a comment whose copy arrived or went is decided again from all its copies.
reopened as (

    select
        community_id,
        entity_id
    from {{ ref('base_pulse__events_arrived') }}
    where event_type = 'comment.created'

    union

    select
        community_id,
        item_id as entity_id
    from {{ ref('stg_pulse__event_deletions') }}
    where item_kind = 'comment'

),

source as (

    select retained.*
    from {{ ref('base_pulse__events_retained') }} as retained
    inner join reopened
        on retained.community_id = reopened.community_id
        and retained.entity_id = reopened.entity_id
    where retained.event_type = 'comment.created'

),

{% else %}

source as (

    select * from {{ ref('base_pulse__events_arrived') }}
    where event_type = 'comment.created'

),

{% endif %}

renamed as (

    select
        -- ids
        event_id,
        payload ->> 'comment_id' as comment_id,
        -- On an idea portal the idea is the thread: its comments name the idea_id as post_id.
        payload ->> 'post_id' as post_id,
        payload ->> 'parent_comment_id' as parent_comment_id,
        community_id,
        member_key,

        -- dimensions
        payload ->> 'author_role' as author_role,
        (payload ->> 'author_role') in ('brand', 'moderator') as is_brand_voice,
        platform,

        -- measures
        sentiment,
        text_length,

        -- timestamps
        occurred_at as created_at,
        occurred_on as created_on,
        occurred_week as created_week,
        ingested_at

    from source

),

-- A comment exists once, whatever number of times it was sent; the first copy wins.
deduplicated as (

    select
        *,
        row_number() over (
            partition by community_id, comment_id
            order by created_at, ingested_at, event_id
        ) as copy_number
    from renamed

),

final as (

    select
        -- ids
        event_id,
        comment_id,
        post_id,
        parent_comment_id,
        community_id,
        member_key,

        -- dimensions
        author_role,
        is_brand_voice,
        platform,

        -- measures
        sentiment,
        text_length,

        -- timestamps
        created_at,
        created_on,
        created_week

    from deduplicated
    where copy_number = 1

)

select * from final
