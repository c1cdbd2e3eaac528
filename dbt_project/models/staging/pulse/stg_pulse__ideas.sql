with

source as (

    select * from {{ ref('base_pulse__events_retained') }}
    where event_type = 'feedback.submitted'

),

renamed as (

    select
        -- ids
        event_id,
        payload ->> 'idea_id' as idea_id,
        community_id,
        member_key,

        -- dimensions
        payload ->> 'title' as idea_title,
        payload ->> 'category' as idea_category,
        platform,

        -- measures
        sentiment,
        text_length,

        -- timestamps
        occurred_at as submitted_at,
        occurred_on as submitted_on,
        occurred_week as submitted_week,
        ingested_at

    from source

),

-- An idea is submitted once; the first submission of an idea_id wins.
deduplicated as (

    select
        *,
        row_number() over (
            partition by community_id, idea_id
            order by submitted_at, ingested_at, event_id
        ) as copy_number
    from renamed

),

final as (

    select
        -- ids
        event_id,
        idea_id,
        community_id,
        member_key,

        -- dimensions
        idea_title,
        idea_category,
        platform,

        -- measures
        sentiment,
        text_length,

        -- timestamps
        submitted_at,
        submitted_on,
        submitted_week

    from deduplicated
    where copy_number = 1

)

select * from final
