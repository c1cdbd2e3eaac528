-- What an erasure changed, without saying whose: the communities an erased member was active in
-- and from which day. Daily facts use it to rebuild those days, so an incremental run after an
-- erasure equals a full rebuild. This model reads raw directly (base_pulse__events has already
-- dropped the member) and never outputs a member_key.

with

source as (

    select * from {{ source('pulse', 'community_events') }}

),

erasures as (

    select
        member_key,
        -- An erasure replayed or delivered late still reopens the days it changes.
        max(greatest(
            (occurred_at at time zone 'UTC')::date,
            (ingested_at at time zone 'UTC')::date
        )) as erasure_recorded_on
    from source
    where event_type = 'member.erased'
    group by member_key

),

erased_activity as (

    select
        source.community_id,
        erasures.erasure_recorded_on,
        min((source.occurred_at at time zone 'UTC')::date) as first_erased_activity_on
    from source
    inner join erasures
        on source.member_key = erasures.member_key
    where source.event_type <> 'member.erased'
    group by source.community_id, erasures.member_key, erasures.erasure_recorded_on

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
