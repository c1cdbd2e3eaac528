{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='delete+insert',
        unique_key='copy_key',
        indexes=[
            {'columns': ['copy_key']},
            {'columns': ['member_key', 'community_id', 'shared_on']},
            {'columns': ['community_id', 'post_id']},
            {'columns': ['community_id', 'shared_on']},
        ],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

source as (

    select * from {{ ref('base_pulse__events_arrived') }}
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
keyed as (

    select
        *,
        md5(row(
            community_id, member_key, extract(epoch from shared_at), post_id, share_destination
        )::text) as copy_key
    from renamed

),

{% if is_incremental() %}

-- The copy an earlier run kept competes with the ones that arrived now.
candidates as (

    select * from keyed

    union all

    select
        kept.event_id,
        kept.community_id,
        kept.member_key,
        kept.post_id,
        kept.share_destination,
        kept.platform,
        kept.shared_at,
        kept.shared_on,
        kept.shared_week,
        kept.ingested_at,
        kept.copy_key
    from {{ this }} as kept
    where kept.copy_key in (select keyed.copy_key from keyed)

),

{% else %}

candidates as (

    select * from keyed

),

{% endif %}

deduplicated as (

    select
        *,
        row_number() over (
            partition by copy_key
            order by ingested_at, event_id
        ) as copy_number
    from candidates

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
        shared_week,
        ingested_at,

        -- the copy's identity (see keyed)
        copy_key

    from deduplicated
    where copy_number = 1

)

select * from final
