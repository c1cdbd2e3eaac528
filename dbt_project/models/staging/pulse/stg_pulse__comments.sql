with

source as (

    select * from {{ ref('base_pulse__events_retained') }}
    where event_type = 'comment.created'

),

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
