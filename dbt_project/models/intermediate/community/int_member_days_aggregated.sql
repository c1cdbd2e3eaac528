with

joins as (

    select
        community_id,
        member_key,
        occurred_on as activity_date,
        occurred_at as activity_at,
        'joined' as activity_type
    from {{ ref('stg_pulse__memberships') }}
    where membership_action = 'joined'

),

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

activities as (

    select * from joins
    union all
    select * from posts
    union all
    select * from comments
    union all
    select * from reactions
    union all
    select * from shares
    union all
    select * from feedback_actions

),

final as (

    select
        -- ids
        community_id,
        member_key,

        -- dimensions
        activity_date,
        date_trunc('week', activity_date::timestamp)::date as activity_week,

        -- measures
        count(*) filter (where activity_type = 'joined')::integer as joins,
        count(*) filter (where activity_type = 'posted')::integer as posts,
        count(*) filter (where activity_type = 'commented')::integer as comments,
        count(*) filter (where activity_type = 'reacted')::integer as reactions,
        count(*) filter (where activity_type = 'shared')::integer as shares,
        count(*) filter (where activity_type = 'submitted')::integer as ideas_submitted,
        count(*) filter (where activity_type = 'voted')::integer as votes,
        -- Joining makes a member active that day but is not an action of engagement.
        count(*) filter (where activity_type <> 'joined')::integer as actions,
        count(*) filter (where activity_type in ('posted', 'commented'))::integer as contributions,

        -- timestamps
        -- Observed membership orders a day's actions against its joins and leaves.
        min(activity_at) filter (where activity_type <> 'joined') as first_action_at,
        max(activity_at) filter (where activity_type <> 'joined') as last_action_at

    from activities
    group by community_id, member_key, activity_date

)

select * from final
