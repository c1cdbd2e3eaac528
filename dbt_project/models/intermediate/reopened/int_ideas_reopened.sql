-- depends_on: {{ ref('base_pulse__events_arrived') }}
-- depends_on: {{ ref('int_threads_reopened') }}
-- depends_on: {{ ref('stg_pulse__event_deletions') }}
-- The ideas the run's arrivals may change: ideas submitted, voted on or moved to a status, the
-- threads reopened (a comment on an idea names it as its post_id) and what an erasure took.
-- Last votes, lifecycles and the ideas' first responses are rebuilt for these only. Empty in a
-- full build.
{{
    config(
        materialized='table',
        indexes=[{'columns': ['community_id', 'idea_id']}],
        post_hook=["analyze {{ this }}"]
    )
}}

with

{% if pulse_incremental() %}

ideas as (

    select
        community_id,
        payload ->> 'idea_id' as idea_id
    from {{ ref('base_pulse__events_arrived') }}
    where event_type in ('feedback.submitted', 'feedback.voted', 'feedback.status_changed')

    union

    select
        community_id,
        post_id as idea_id
    from {{ ref('int_threads_reopened') }}

    union

    select
        community_id,
        item_id as idea_id
    from {{ ref('stg_pulse__event_deletions') }}
    where item_kind = 'idea'

),

{% else %}

ideas as (

    select
        null::text as community_id,
        null::text as idea_id
    where false

),

{% endif %}

final as (

    select
        -- ids
        community_id,
        idea_id

    from ideas
    where idea_id is not null

)

select * from final
