-- What arrived in the run's window, from the retained log: the rows staging (re)processes. A
-- view (a range of the ingested_at index), rebuilt each run with the run's window; in a full
-- build it is the whole log.
{{ config(materialized='view') }}

with

retained as (

    select * from {{ ref('base_pulse__events_retained') }}
    {%- if pulse_incremental() %}
    where {{ arrived_in_window() }}
    {%- endif %}

),

final as (

    select
        -- ids
        event_id,
        community_id,
        member_key,
        entity_id,

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
        occurred_on,
        occurred_week,
        ingested_at

    from retained

)

select * from final
