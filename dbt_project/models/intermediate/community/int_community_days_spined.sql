-- Daily facts need a row for every day of a community's life, also days nobody acted on (their
-- zeros and their WAU/MAU still matter), up to the last day any data exists for.

with

events as (

    select
        community_id,
        occurred_on
    from {{ ref('base_pulse__events') }}

),

community_bounds as (

    select
        community_id,
        min(occurred_on) as first_event_on
    from events
    group by community_id

),

data_bounds as (

    select max(occurred_on) as last_event_on
    from events

),

final as (

    select
        -- ids
        community_bounds.community_id,

        -- timestamps
        day_start::date as activity_date,
        date_trunc('week', day_start)::date as activity_week

    from community_bounds
    cross join data_bounds
    cross join lateral generate_series(
        community_bounds.first_event_on::timestamp,
        data_bounds.last_event_on::timestamp,
        interval '1 day'
    ) as day_start

)

select * from final
