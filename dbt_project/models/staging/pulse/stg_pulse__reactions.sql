{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='delete+insert',
        unique_key='copy_key',
        indexes=[
            {'columns': ['copy_key']},
            {'columns': ['member_key', 'community_id', 'reacted_on']},
            {'columns': ['community_id', 'target_id']},
            {'columns': ['community_id', 'reacted_on']},
        ],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

source as (

    select * from {{ ref('base_pulse__events_arrived') }}
    where event_type in ('reaction.added', 'reaction.removed')

),

renamed as (

    select
        -- ids
        event_id,
        community_id,
        member_key,
        payload ->> 'target_id' as target_id,

        -- dimensions
        payload ->> 'target_type' as target_type,
        payload ->> 'reaction' as reaction,
        case event_type when 'reaction.added' then 'added' else 'removed' end as reaction_action,
        platform,

        -- measures
        case event_type when 'reaction.added' then 1 else -1 end as reaction_delta,

        -- timestamps
        occurred_at as reacted_at,
        occurred_on as reacted_on,
        occurred_week as reacted_week,
        ingested_at

    from source

),

-- Reactions have no id of their own; the same member, instant, kind and payload is the same
-- reaction sent twice (a retry under a new event_id), not a second reaction. copy_key names that
-- content (null-safe, time-zone free).
keyed as (

    select
        *,
        md5(row(
            community_id, member_key, reaction_action, extract(epoch from reacted_at),
            target_type, target_id, reaction
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
        kept.target_id,
        kept.target_type,
        kept.reaction,
        kept.reaction_action,
        kept.platform,
        kept.reaction_delta,
        kept.reacted_at,
        kept.reacted_on,
        kept.reacted_week,
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
        target_id,

        -- dimensions
        target_type,
        reaction,
        reaction_action,
        platform,

        -- measures
        reaction_delta,

        -- timestamps
        reacted_at,
        reacted_on,
        reacted_week,
        ingested_at,

        -- the copy's identity (see keyed)
        copy_key

    from deduplicated
    where copy_number = 1

)

select * from final
