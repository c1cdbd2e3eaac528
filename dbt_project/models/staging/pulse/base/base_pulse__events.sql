-- The one model that reads the raw events: every event, renamed, erased members included.
-- Ephemeral, so those rows are never stored: base_pulse__events_retained drops the erased members
-- before anything is written, and stg_pulse__erasures needs them to know which days an erasure
-- changed.
{{ config(materialized='ephemeral') }}

with

source as (

    select * from {{ source('pulse', 'community_events') }}

),

renamed as (

    select
        -- ids
        event_id,
        community_id,
        member_key,

        -- dimensions
        event_type,
        platform,
        payload,
        sentiment_source,

        -- measures
        sentiment,
        text_length,

        -- timestamps
        occurred_at,
        -- Days and weeks are UTC whatever the session time zone, weeks start on Monday.
        (occurred_at at time zone 'UTC')::date as occurred_on,
        date_trunc('week', occurred_at at time zone 'UTC')::date as occurred_week,
        ingested_at

    from source

)

select * from renamed
