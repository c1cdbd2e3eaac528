{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='delete+insert',
        unique_key='copy_key',
        indexes=[
            {'columns': ['copy_key']},
            {'columns': ['member_key', 'community_id']},
            {'columns': ['community_id', 'idea_id']},
            {'columns': ['community_id', 'changed_on']},
        ],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

source as (

    select * from {{ ref('base_pulse__events_arrived') }}
    where event_type = 'feedback.status_changed'

),

renamed as (

    select
        -- ids
        event_id,
        payload ->> 'idea_id' as idea_id,
        community_id,
        member_key,

        -- dimensions
        payload ->> 'status' as idea_status,
        payload ->> 'by_role' as changed_by_role,
        -- Decided: the brand said yes or no (implemented is a yes that shipped).
        (payload ->> 'status') in ('accepted', 'implemented', 'declined') as is_decision,
        platform,

        -- timestamps
        occurred_at as changed_at,
        occurred_on as changed_on,
        occurred_week as changed_week,
        ingested_at

    from source

),

-- Same member, instant and payload is one status change sent twice.
keyed as (

    select
        *,
        md5(row(
            community_id, member_key, extract(epoch from changed_at), idea_id, idea_status,
            changed_by_role
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
        kept.idea_id,
        kept.community_id,
        kept.member_key,
        kept.idea_status,
        kept.changed_by_role,
        kept.is_decision,
        kept.platform,
        kept.changed_at,
        kept.changed_on,
        kept.changed_week,
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
        idea_id,
        community_id,
        member_key,

        -- dimensions
        idea_status,
        changed_by_role,
        is_decision,
        platform,

        -- timestamps
        changed_at,
        changed_on,
        changed_week,
        ingested_at,

        -- the copy's identity (see keyed)
        copy_key

    from deduplicated
    where copy_number = 1

)

select * from final
