-- Daily facts need a row for every day of a community's life, also days nobody acted on (their
-- zeros and their WAU/MAU still matter), up to the last day any data exists for. Rebuilt on
-- every run from int_community_bounds: it is communities x days, small whatever raw holds.
{{
    config(
        indexes=[{'columns': ['community_id', 'activity_date'], 'unique': true}],
        post_hook=["analyze {{ this }}"]
    )
}}

with

community_bounds as (

    select * from {{ ref('int_community_bounds') }}

),

data_bounds as (

    select max(last_event_on) as last_event_on
    from community_bounds

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
