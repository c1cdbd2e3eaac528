-- Every staging model but stg_pulse__erasures reads events through here, so the erasure rule is
-- written once and the first stored relation already lacks the erased members.

with

events as (

    select * from {{ ref('base_pulse__events') }}

),

-- An erasure removes everything the member ever sent, whenever the erasure arrived (even after
-- the events it erases), including the member.erased event itself.
erased_members as (

    select distinct member_key
    from events
    where event_type = 'member.erased'

),

final as (

    select
        -- ids
        events.event_id,
        events.community_id,
        events.member_key,

        -- dimensions
        events.event_type,
        events.platform,
        events.payload,
        events.sentiment_source,

        -- measures
        events.sentiment,
        events.text_length,

        -- timestamps
        events.occurred_at,
        events.occurred_on,
        events.occurred_week,
        events.ingested_at

    from events
    left join erased_members
        on events.member_key = erased_members.member_key
    where erased_members.member_key is null

)

select * from final
