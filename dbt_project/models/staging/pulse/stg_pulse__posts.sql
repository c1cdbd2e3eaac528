with

source as (

    select * from {{ ref('base_pulse__events_retained') }}
    where event_type = 'post.created'

),

renamed as (

    select
        -- ids
        event_id,
        payload ->> 'post_id' as post_id,
        community_id,
        member_key,

        -- dimensions
        payload ->> 'author_role' as author_role,
        -- The brand's voice is the brand account and the moderators it appoints.
        (payload ->> 'author_role') in ('brand', 'moderator') as is_brand_voice,
        payload ->> 'content_type' as content_type,
        platform,

        -- measures
        -- tags is optional and may arrive as JSON null.
        case jsonb_typeof(payload -> 'tags')
            when 'array' then jsonb_array_length(payload -> 'tags')
            else 0
        end as tag_count,
        sentiment,
        text_length,

        -- timestamps
        occurred_at as created_at,
        occurred_on as created_on,
        occurred_week as created_week,
        ingested_at

    from source

),

-- A post exists once: a second post.created for the same post_id (a retry under a new event_id,
-- or an edit replayed as a create) does not make it two posts. The first one wins.
deduplicated as (

    select
        *,
        row_number() over (
            partition by community_id, post_id
            order by created_at, ingested_at, event_id
        ) as copy_number
    from renamed

),

final as (

    select
        -- ids
        event_id,
        post_id,
        community_id,
        member_key,

        -- dimensions
        author_role,
        is_brand_voice,
        content_type,
        platform,

        -- measures
        tag_count,
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
