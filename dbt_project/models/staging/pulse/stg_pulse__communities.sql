with

source as (

    select * from {{ ref('base_pulse__events') }}
    where event_type = 'community.upserted'

),

renamed as (

    select
        -- ids
        event_id,
        community_id,
        payload ->> 'brand_id' as brand_id,

        -- dimensions
        payload ->> 'name' as community_name,
        payload ->> 'kind' as community_kind,
        payload ->> 'topic' as community_topic,
        payload ->> 'visibility' as community_visibility,
        platform,

        -- timestamps
        occurred_at as upserted_at

    from source

),

-- An upsert restates the whole community, so the latest one is its current state.
ranked as (

    select
        *,
        row_number() over (
            partition by community_id
            order by upserted_at desc, event_id desc
        ) as recency_rank
    from renamed

),

final as (

    select
        -- ids
        community_id,
        brand_id,

        -- dimensions
        community_name,
        community_kind,
        community_topic,
        community_visibility,
        platform,

        -- timestamps
        upserted_at

    from ranked
    where recency_rank = 1

)

select * from final
