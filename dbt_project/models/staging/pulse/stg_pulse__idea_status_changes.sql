with

source as (

    select * from {{ ref('base_pulse__events_retained') }}
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
deduplicated as (

    select
        *,
        row_number() over (
            partition by
                community_id, member_key, changed_at, idea_id, idea_status, changed_by_role
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
        idea_status,
        changed_by_role,
        is_decision,
        platform,

        -- timestamps
        changed_at,
        changed_on,
        changed_week

    from deduplicated
    where copy_number = 1

)

select * from final
