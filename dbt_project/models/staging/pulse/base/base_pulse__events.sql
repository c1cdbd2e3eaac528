-- Every staging model reads events through here, so the erasure rule is written once.

with

source as (

    select * from {{ source('pulse', 'community_events') }}

),

-- An erasure removes everything the member ever sent, whenever the erasure arrived (even after
-- the events it erases), including the member.erased event itself.
erased_members as (

    select distinct member_key
    from source
    where event_type = 'member.erased'

),

renamed as (

    select
        -- ids
        source.event_id,
        source.community_id,
        source.member_key,

        -- dimensions
        source.event_type,
        source.platform,
        source.payload,
        source.sentiment_source,

        -- measures
        source.sentiment,
        source.text_length,

        -- timestamps
        source.occurred_at,
        -- Days and weeks are UTC whatever the session time zone, weeks start on Monday.
        (source.occurred_at at time zone 'UTC')::date as occurred_on,
        date_trunc('week', source.occurred_at at time zone 'UTC')::date as occurred_week,
        source.ingested_at

    from source
    where not exists (
        select 1
        from erased_members
        where erased_members.member_key = source.member_key
    )

)

select * from renamed
