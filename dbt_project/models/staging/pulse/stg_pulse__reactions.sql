with

source as (

    select * from {{ ref('base_pulse__events_retained') }}
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
-- reaction sent twice (a retry under a new event_id), not a second reaction.
deduplicated as (

    select
        *,
        row_number() over (
            partition by
                community_id, member_key, reaction_action, reacted_at,
                target_type, target_id, reaction
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
        reacted_week

    from deduplicated
    where copy_number = 1

)

select * from final
