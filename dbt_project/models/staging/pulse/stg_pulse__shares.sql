with

source as (

    select * from {{ ref('base_pulse__events_retained') }}
    where event_type = 'content.shared'

),

renamed as (

    select
        -- ids
        event_id,
        community_id,
        member_key,
        payload ->> 'post_id' as post_id,

        -- dimensions
        payload ->> 'destination' as share_destination,
        platform,

        -- timestamps
        occurred_at as shared_at,
        occurred_on as shared_on,
        occurred_week as shared_week,
        ingested_at

    from source

),

-- Same member, instant and payload is one share sent twice, not two shares.
deduplicated as (

    select
        *,
        row_number() over (
            partition by community_id, member_key, shared_at, post_id, share_destination
            order by ingested_at, event_id
        ) as copy_number
    from renamed

),

final as (

    select
        -- ids
        event_id,
        community_id,
        member_key,
        post_id,

        -- dimensions
        share_destination,
        platform,

        -- timestamps
        shared_at,
        shared_on,
        shared_week

    from deduplicated
    where copy_number = 1

)

select * from final
