-- MetricFlow's daily time spine (see _semantic__models.yml): one row per UTC day of a fixed
-- range wider than any day the marts can hold. It is generate_series alone and reads no
-- relation, so it holds no member key and needs no rebuild when raw changes.
{{ config(schema='intermediate', materialized='table') }}

with

final as (

    -- timestamps (the one column)
    select day_start::date as date_day
    from generate_series(
        '2000-01-01'::timestamp,
        '2049-12-31'::timestamp,
        interval '1 day'
    ) as day_start

)

select * from final
