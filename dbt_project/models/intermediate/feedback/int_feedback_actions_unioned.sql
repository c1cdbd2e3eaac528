-- A member's actions on a feedback portal, in one shape, so that member daily activity reads one
-- relation for them rather than one per event family. A view (see int_member_actions_unioned).
{{ config(materialized='view') }}

with

ideas as (

    select * from {{ ref('stg_pulse__ideas') }}

),

votes as (

    select * from {{ ref('stg_pulse__idea_votes') }}

),

actions as (

    select
        event_id,
        community_id,
        member_key,
        'submitted' as action_type,
        submitted_at as acted_at,
        submitted_on as acted_on
    from ideas

    union all

    -- Every vote is an action, also one that a later vote of the member replaced.
    select
        event_id,
        community_id,
        member_key,
        'voted' as action_type,
        voted_at as acted_at,
        voted_on as acted_on
    from votes

),

final as (

    select
        -- ids
        event_id,
        community_id,
        member_key,

        -- dimensions
        action_type,

        -- timestamps
        acted_at,
        acted_on

    from actions

)

select * from final
