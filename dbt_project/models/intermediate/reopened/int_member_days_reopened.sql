-- depends_on: {{ ref('base_pulse__events_arrived') }}
-- depends_on: {{ ref('base_pulse__events_retained') }}
-- depends_on: {{ ref('stg_pulse__event_deletions') }}
-- The member-days the run's arrivals may change: the day of every event that arrived, and the
-- day of every copy of a post, comment or idea a copy of which arrived or was erased (the old
-- winning copy's member-day loses the item when a new copy wins). Member daily activity is
-- rebuilt for these keys only; memberships for their members. Empty in a full build.
{{
    config(
        materialized='table',
        indexes=[{'columns': ['community_id', 'member_key', 'activity_date']}],
        post_hook=["analyze {{ this }}"]
    )
}}

with

{% if pulse_incremental() %}

arrived as (

    select * from {{ ref('base_pulse__events_arrived') }}

),

deletions as (

    select * from {{ ref('stg_pulse__event_deletions') }}

),

reopened_entities as (

    select
        community_id,
        event_type,
        entity_id
    from arrived
    where event_type in ('post.created', 'comment.created', 'feedback.submitted')

    union

    select
        community_id,
        case item_kind
            when 'post' then 'post.created'
            when 'comment' then 'comment.created'
            else 'feedback.submitted'
        end as event_type,
        item_id as entity_id
    from deletions
    where item_kind is not null

),

entity_copies as (

    select
        retained.community_id,
        retained.member_key,
        retained.occurred_on
    from {{ ref('base_pulse__events_retained') }} as retained
    inner join reopened_entities
        on retained.community_id = reopened_entities.community_id
        and retained.event_type = reopened_entities.event_type
        and retained.entity_id = reopened_entities.entity_id

),

member_days as (

    select
        community_id,
        member_key,
        occurred_on
    from arrived
    where member_key is not null

    union

    select
        community_id,
        member_key,
        occurred_on
    from entity_copies

),

{% else %}

member_days as (

    select
        null::text as community_id,
        null::text as member_key,
        null::date as occurred_on
    where false

),

{% endif %}

final as (

    select
        -- ids
        community_id,
        member_key,

        -- timestamps
        occurred_on as activity_date

    from member_days

)

select * from final
