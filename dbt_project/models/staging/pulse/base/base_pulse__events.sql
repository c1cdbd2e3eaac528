-- The one model that reads the raw events: every event, renamed, erased members included.
-- Ephemeral, so those rows are never stored: base_pulse__events_retained drops the erased members
-- before anything is written.
{{ config(materialized='ephemeral') }}

with

source as (

    select * from {{ source('pulse', 'community_events') }}
    {%- if var('arrived_through', none) is not none %}
    -- The pipeline names the moment its raw gate validated up to; rows that arrive later are
    -- the next run's, so what a build reflects is exactly what was validated (and recorded as
    -- the build's watermark).
    where ingested_at < '{{ var("arrived_through") }}'::timestamptz
    {%- endif %}

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
