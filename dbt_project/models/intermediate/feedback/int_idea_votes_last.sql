-- depends_on: {{ ref('int_ideas_reopened') }}
-- A member's last vote on an idea is the one that counts: voting up, then down, is one down vote.
-- Incremental by idea: an idea voted on again (or reopened otherwise) has its last votes worked
-- out again from all its votes; a re-vote moves the member's counted vote.
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[
            {'columns': ['community_id', 'idea_id']},
            {'columns': ['community_id', 'voted_on']},
            {'columns': ['member_key']},
        ],
        pre_hook=["{{ delete_reopened(ref('int_ideas_reopened'), ['community_id', 'idea_id']) }}"],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

votes as (

    select votes.*
    from {{ ref('stg_pulse__idea_votes') }} as votes
    {% if is_incremental() -%}
    inner join {{ ref('int_ideas_reopened') }} as reopened
        on votes.community_id = reopened.community_id
        and votes.idea_id = reopened.idea_id
    {%- endif %}

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
