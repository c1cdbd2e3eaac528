-- The retained event log: every event of a member never erased (and every community.upserted),
-- all of history, one row per event_id. Incremental by arrival: a run adds what arrived in its
-- window (ingested_at, indexed in raw), so it reads the new hour, not all of raw. The window
-- overlaps the previous one by PULSE_PIPELINE_ARRIVAL_MARGIN_S (a batch may commit after a later
-- one started), and the overlap is written again under the same event_id: idempotent.
--
-- Erasures leave this table the way they leave every table with a member_key: the pipeline
-- applies them (pulse/maintenance/erasure.py) before and after each build. A member erased in
-- the window itself is kept out here too, so their new rows are never stored at all.
--
-- Staging models read the window through base_pulse__events_arrived and look whole entities
-- up here (every copy of a post, say), which is what the indexes are for.
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='delete+insert',
        unique_key='event_id',
        indexes=[
            {'columns': ['event_id'], 'unique': true},
            {'columns': ['ingested_at']},
            {'columns': ['community_id', 'event_type', 'entity_id']},
            {'columns': ['community_id', 'occurred_on']},
            {'columns': ['member_key']},
        ],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

events as (

    select * from {{ ref('base_pulse__events') }}
    {%- if is_incremental() %}
    where {{ arrived_in_window() }}
    {%- endif %}

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
        -- The entity an event creates, where copies of it compete (the first post.created of a
        -- post wins, the latest community.upserted of a community): staging recomputes an
        -- entity from all its copies, found by this column.
        case events.event_type
            when 'community.upserted' then events.community_id
            when 'post.created' then events.payload ->> 'post_id'
            when 'comment.created' then events.payload ->> 'comment_id'
            when 'feedback.submitted' then events.payload ->> 'idea_id'
        end as entity_id,

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
