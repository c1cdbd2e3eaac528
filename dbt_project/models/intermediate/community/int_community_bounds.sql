-- depends_on: {{ ref('base_pulse__events_retained') }}
-- depends_on: {{ ref('stg_pulse__event_deletions') }}
-- A community's first and last day with any retained event: the calendar runs from its first
-- day. Incremental: a community that received events, or lost some to an erasure, is measured
-- again (two index lookups in the retained log, whatever its size); the others keep their row,
-- and a community left without any event loses it.
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[{'columns': ['community_id'], 'unique': true}],
        pre_hook=["{{ delete_reopened(communities_touched(), ['community_id']) }}"]
    )
}}

with

{% if is_incremental() %}

reopened as (

    select community_id from {{ communities_touched() }} as touched

),

bounds as (

    select
        reopened.community_id,
        (
            select min(retained.occurred_on) as occurred_on
            from {{ ref('base_pulse__events_retained') }} as retained
            where retained.community_id = reopened.community_id
        ) as first_event_on,
        (
            select max(retained.occurred_on) as occurred_on
            from {{ ref('base_pulse__events_retained') }} as retained
            where retained.community_id = reopened.community_id
        ) as last_event_on
    from reopened

),

{% else %}

bounds as (

    select
        community_id,
        min(occurred_on) as first_event_on,
        max(occurred_on) as last_event_on
    from {{ ref('base_pulse__events_arrived') }}
    group by community_id

),

{% endif %}

final as (

    select
        -- ids
        community_id,

        -- timestamps
        first_event_on,
        last_event_on

    from bounds
    where first_event_on is not null

)

select * from final
