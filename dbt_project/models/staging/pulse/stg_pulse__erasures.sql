-- What an erasure changed, without saying whose: the communities an erased member was active in
-- and from which day. Daily facts use it to rebuild those days, so an incremental run after an
-- erasure equals a full rebuild. It reads the ephemeral base_pulse__events (the erased members
-- are gone from base_pulse__events_retained) and never outputs a member_key; rows of members
-- erased on the same day are merged, so not even their number shows.

with

events as (

    select * from {{ ref('base_pulse__events') }}

),

erasures as (

    select
        member_key,
        -- An erasure replayed or delivered late still reopens the days it changes.
        max(greatest(occurred_on, (ingested_at at time zone 'UTC')::date)) as erasure_recorded_on
    from events
    where event_type = 'member.erased'
    group by member_key

),

erased_activity as (

    select
        events.community_id,
        erasures.erasure_recorded_on,
        min(events.occurred_on) as first_erased_activity_on
    from events
    inner join erasures
        on events.member_key = erasures.member_key
    where events.event_type <> 'member.erased'
    group by events.community_id, erasures.erasure_recorded_on

),

final as (

    select
        -- ids
        community_id,

        -- timestamps
        first_erased_activity_on,
        erasure_recorded_on

    from erased_activity

)

select * from final
