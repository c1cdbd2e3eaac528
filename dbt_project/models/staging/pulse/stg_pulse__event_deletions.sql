-- What rows leaving raw changed, without saying whose (raw.community_event_deletions, written by
-- a trigger in the transaction that deleted them: member erasure, see pulse/warehouse/sql). An
-- incremental run reopens these community-days, posts, comments and ideas: raw no longer holds
-- the erased member's events, so this log, not raw, says what their erasure changed. Only the
-- entries since the base build; none in a full build, which recomputes everything anyway.
{{ config(materialized='table') }}

with

source as (

    select * from {{ source('pulse', 'community_event_deletions') }}
    {%- if pulse_incremental() %}
    where
        deletion_id > {{ var('deletions_from') | int }}
        and deletion_id <= {{ var('deletions_through') | int }}
    {%- else %}
    where false
    {%- endif %}

),

final as (

    select
        -- ids
        deletion_id,
        community_id,
        item_id,

        -- dimensions
        item_kind,

        -- timestamps
        occurred_on,
        deleted_at

    from source

)

select * from final
