with

source as (

    select * from {{ ref('base_pulse__events_retained') }}
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
-- same instant, same payload. Keep the first copy that arrived.
deduplicated as (

    select
        *,
        row_number() over (
            partition by community_id, member_key, membership_action, occurred_at, join_source
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

        -- dimensions
        membership_action,
        join_source,
        platform,

        -- timestamps
        occurred_at,
        occurred_on,
        occurred_week

    from deduplicated
    where copy_number = 1

)

select * from final
