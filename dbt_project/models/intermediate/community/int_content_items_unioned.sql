-- The content of a community-day in one shape: its posts (with the engagement they received at
-- any time), comments, reactions added and shares. A view: the daily content table reads it
-- for a few community-days at a time, through each table's (community_id, day) index.
{{ config(materialized='view') }}

with

posts as (

    select
        community_id,
        created_on as activity_date,
        'post' as item_type,
        is_brand_voice,
        sentiment,
        engagements
    from {{ ref('int_posts_engagement_summed') }}

),

comments as (

    select
        community_id,
        created_on as activity_date,
        'comment' as item_type,
        is_brand_voice,
        sentiment,
        null::integer as engagements
    from {{ ref('stg_pulse__comments') }}

),

-- Reactions added that day; a removal is not subtracted here.
reactions as (

    select
        community_id,
        reacted_on as activity_date,
        'reaction' as item_type,
        null::boolean as is_brand_voice,
        null::double precision as sentiment,
        null::integer as engagements
    from {{ ref('stg_pulse__reactions') }}
    where reaction_action = 'added'

),

shares as (

    select
        community_id,
        shared_on as activity_date,
        'share' as item_type,
        null::boolean as is_brand_voice,
        null::double precision as sentiment,
        null::integer as engagements
    from {{ ref('stg_pulse__shares') }}

),

final as (

    select * from posts
    union all
    select * from comments
    union all
    select * from reactions
    union all
    select * from shares

)

select * from final
