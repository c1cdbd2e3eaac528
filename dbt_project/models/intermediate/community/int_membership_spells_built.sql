with

memberships as (

    select * from {{ ref('stg_pulse__memberships') }}

),

sequenced as (

    select
        *,
        lag(membership_action) over (
            partition by community_id, member_key
            order by occurred_at, event_id
        ) as previous_action
    from memberships

),

-- Only state changes matter: a join while already a member, or a leave while not one (a repeated
-- or out-of-order event), changes nothing.
transitions as (

    select *
    from sequenced
    where
        (membership_action = 'joined' and coalesce(previous_action, 'left') = 'left')
        or (membership_action = 'left' and previous_action = 'joined')

),

numbered as (

    select
        *,
        count(*) filter (where membership_action = 'joined') over (
            partition by community_id, member_key
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as spell_number
    from transitions

),

final as (

    select
        -- ids
        community_id,
        member_key,
        spell_number::integer as spell_number,

        -- dimensions
        min(join_source) filter (where membership_action = 'joined') as join_source,

        -- timestamps
        min(occurred_at) filter (where membership_action = 'joined') as joined_at,
        min(occurred_at) filter (where membership_action = 'left') as left_at,
        min(occurred_on) filter (where membership_action = 'joined') as joined_on,
        min(occurred_on) filter (where membership_action = 'left') as left_on

    from numbered
    group by community_id, member_key, spell_number

)

select * from final
