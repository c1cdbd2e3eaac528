{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='delete+insert',
        unique_key='copy_key',
        indexes=[
            {'columns': ['copy_key']},
            {'columns': ['member_key', 'community_id', 'occurred_on']},
        ],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

source as (

    select * from {{ ref('base_pulse__events_arrived') }}
    where event_type in ('member.joined', 'member.left')

),

renamed as (

    select
        -- ids
        event_id,
        community_id,
        member_key,

        -- dimensions
        case event_type when 'member.joined' then 'joined' else 'left' end as membership_action,
        payload ->> 'source' as join_source,
        platform,

        -- timestamps
        occurred_at,
        occurred_on,
        occurred_week,
        ingested_at

    from source

),

-- A producer that re-sends an event under a fresh event_id sends the same content: same member,
-- same instant, same payload. copy_key names that content (null-safe, time-zone free).
keyed as (

    select
        *,
        md5(row(
            community_id, member_key, membership_action, extract(epoch from occurred_at),
            join_source
        )::text) as copy_key
    from renamed

),

{% if is_incremental() %}

-- The copy an earlier run kept competes with the ones that arrived now (one committed late may
-- have arrived first): the same winner as if all copies were read at once.
candidates as (

    select * from keyed

    union all

    select
        kept.event_id,
        kept.community_id,
        kept.member_key,
        kept.membership_action,
        kept.join_source,
        kept.platform,
        kept.occurred_at,
        kept.occurred_on,
        kept.occurred_week,
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

-- Keep the first copy that arrived.
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

        -- dimensions
        membership_action,
        join_source,
        platform,

        -- timestamps
        occurred_at,
        occurred_on,
        occurred_week,
        ingested_at,

        -- the copy's identity (see keyed)
        copy_key

    from deduplicated
    where copy_number = 1

)

select * from final
