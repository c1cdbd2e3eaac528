-- A member's actions, one row per action, in one shape: posts, comments, reactions added,
-- shares, ideas and votes. A view: member daily activity reads it for a few member-days at a
-- time, each looked up laterally, so the filter reaches each table's (member_key, community_id,
-- day) index.
{{ config(materialized='view') }}

with

posts as (

    select
        community_id,
        member_key,
        created_on as activity_date,
        created_at as activity_at,
        'posted' as activity_type
    from {{ ref('stg_pulse__posts') }}

),

comments as (

    select
        community_id,
        member_key,
        created_on as activity_date,
        created_at as activity_at,
        'commented' as activity_type
    from {{ ref('stg_pulse__comments') }}

),

-- Taking a reaction back is not engagement; adding one is.
reactions as (

    select
        community_id,
        member_key,
        reacted_on as activity_date,
        reacted_at as activity_at,
        'reacted' as activity_type
    from {{ ref('stg_pulse__reactions') }}
    where reaction_action = 'added'

),

shares as (

    select
        community_id,
        member_key,
        shared_on as activity_date,
        shared_at as activity_at,
        'shared' as activity_type
    from {{ ref('stg_pulse__shares') }}

),

feedback_actions as (

    select
        community_id,
        member_key,
        acted_on as activity_date,
        acted_at as activity_at,
        action_type as activity_type
    from {{ ref('int_feedback_actions_unioned') }}

),

final as (

    select * from posts
    union all
    select * from comments
    union all
    select * from reactions
    union all
    select * from shares
    union all
    select * from feedback_actions

)

select * from final
