-- A member's last vote on an idea is the one that counts: voting up, then down, is one down vote.

with

votes as (

    select * from {{ ref('stg_pulse__idea_votes') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by community_id, idea_id, member_key
            order by voted_at desc, event_id desc
        ) as recency_rank,
        count(*) over (partition by community_id, idea_id, member_key) as vote_events
    from votes

),

final as (

    select
        -- ids
        idea_id,
        community_id,
        member_key,

        -- dimensions
        vote_direction,

        -- measures
        vote_value,
        vote_events::integer as vote_events,

        -- timestamps
        voted_at,
        voted_on

    from ranked
    where recency_rank = 1

)

select * from final
