-- depends_on: {{ ref('base_pulse__events_retained') }}
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='delete+insert',
        unique_key='community_id',
        indexes=[{'columns': ['community_id'], 'unique': true}],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

{% if is_incremental() %}

-- A community that sent an upsert is decided again from all its upserts (the latest one wins,
-- whenever it arrived); the others stay as stored.
reopened as (

    select distinct community_id
    from {{ ref('base_pulse__events_arrived') }}
    where event_type = 'community.upserted'

),

source as (

    select retained.*
    from {{ ref('base_pulse__events_retained') }} as retained
    inner join reopened
        on retained.community_id = reopened.community_id
    where
        retained.event_type = 'community.upserted'
        and retained.entity_id = reopened.community_id

),

{% else %}

source as (

    select * from {{ ref('base_pulse__events_arrived') }}
    where event_type = 'community.upserted'

),

{% endif %}

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

        -- measures
        -- Optional: an upsert without it says nothing about the size.
        (payload ->> 'audience_size')::bigint as audience_size,

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

-- The size is reported now and then: the latest upsert that carried one says it.
latest_audience as (

    select distinct on (community_id)
        community_id,
        audience_size,
        upserted_at as audience_size_reported_at
    from renamed
    where audience_size is not null
    order by community_id asc, upserted_at desc, event_id desc

),

final as (

    select
        -- ids
        ranked.community_id,
        ranked.brand_id,

        -- dimensions
        ranked.community_name,
        ranked.community_kind,
        ranked.community_topic,
        ranked.community_visibility,
        ranked.platform,

        -- measures
        latest_audience.audience_size,

        -- timestamps
        ranked.upserted_at,
        latest_audience.audience_size_reported_at

    from ranked
    left join latest_audience
        on ranked.community_id = latest_audience.community_id
    where ranked.recency_rank = 1

)

select * from final
