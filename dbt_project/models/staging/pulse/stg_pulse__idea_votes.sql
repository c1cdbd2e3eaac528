with

source as (

    select * from {{ ref('base_pulse__events_retained') }}
    where event_type = 'feedback.voted'

),

renamed as (

    select
        -- ids
        event_id,
        payload ->> 'idea_id' as idea_id,
        community_id,
        member_key,

        -- dimensions
        payload ->> 'direction' as vote_direction,
        platform,

        -- measures
        case payload ->> 'direction' when 'up' then 1 else -1 end as vote_value,

        -- timestamps
        occurred_at as voted_at,
        occurred_on as voted_on,
        occurred_week as voted_week,
        ingested_at

    from source

),

-- Every vote event is kept (last-vote-wins is decided downstream); only exact copies go.
deduplicated as (

    select
        *,
        row_number() over (
            partition by community_id, member_key, voted_at, idea_id, vote_direction
            order by ingested_at, event_id
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
        vote_direction,
        platform,

        -- measures
        vote_value,

        -- timestamps
        voted_at,
        voted_on,
        voted_week

    from deduplicated
    where copy_number = 1

)

select * from final
