-- One row per idea, rebuilt in full on every run from the incremental lifecycle table (one row
-- per idea already): a projection, as cheap as the ideas are many.

with

ideas as (

    select * from {{ ref('int_ideas_lifecycle_joined') }}

),

memberships as (

    select * from {{ ref('int_memberships_observed') }}

),

-- An idea has no period of its own: it is shown when its community has, over its whole life,
-- at least the minimum group size of active members (ever active = ever a member, see
-- dim_community).
community_active as (

    select
        community_id,
        count(distinct member_key) as active_members_all_time
    from memberships
    group by community_id

),

-- An idea's votes are its voters' own: too few voters, no vote counts (macros/suppression.sql).
{{ idea_votes_hidden('ideas') }}

measured as (

    select
        ideas.*,
        coalesce(community_active.active_members_all_time, 0) < {{ min_group_size() }}
            as is_suppressed,
        coalesce(community_active.active_members_all_time, 0) < {{ min_group_size() }}
        or idea_votes_hidden.votes_hidden as votes_hidden
    from ideas
    left join community_active
        on ideas.community_id = community_active.community_id
    inner join idea_votes_hidden
        on ideas.community_id = idea_votes_hidden.community_id
        and ideas.idea_id = idea_votes_hidden.idea_id

),

final as (

    select
        -- ids
        idea_id::text as idea_id,
        community_id::text as community_id,

        -- dimensions
        {{ unless_suppressed('idea_title') }}::text as idea_title,
        idea_category::text as idea_category,
        current_status::text as current_status,
        decision_status::text as decision_status,
        is_suppressed::boolean as is_suppressed,

        -- measures (member-derived ones are null in a suppressed community; the votes also
        -- when the idea has too few voters)
        {{ unless_suppressed('votes_up', 'votes_hidden') }}::integer as votes_up,
        {{ unless_suppressed('votes_down', 'votes_hidden') }}::integer as votes_down,
        {{ unless_suppressed('votes_up - votes_down', 'votes_hidden') }}::integer as votes_net,
        {{ unless_suppressed('voters', 'votes_hidden') }}::integer as voters,
        {{ unless_suppressed('comments') }}::integer as comments,
        -- Lower bound of the 95% Wilson interval of the up-vote share: few votes rank below
        -- many votes of the same share, so one lucky up vote does not top the list.
        {{ unless_suppressed(
            'coalesce(' ~ wilson_bound('votes_up', 'votes_up + votes_down', 'lower', scale=4) ~ ', 0)',
            'votes_hidden'
        ) }}::numeric(12, 4) as popularity_score,
        {{ unless_suppressed('round(sentiment::numeric, 4)') }}::numeric(12, 4) as sentiment,
        round(
            (extract(epoch from first_response_at - submitted_at) / 3600)::numeric, 2
        )::numeric(14, 2) as hours_to_first_response,
        round((extract(epoch from decided_at - submitted_at) / 3600)::numeric, 2)::numeric(14, 2)
            as hours_to_decision,

        -- timestamps
        submitted_at::timestamptz as submitted_at,
        submitted_on::date as submitted_on,
        first_response_at::timestamptz as first_response_at,
        decided_at::timestamptz as decided_at,
        status_changed_at::timestamptz as status_changed_at

    from measured

)

{{ with_brand('final') }}
