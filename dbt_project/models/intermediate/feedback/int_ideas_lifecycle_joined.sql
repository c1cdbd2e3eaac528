-- depends_on: {{ ref('int_ideas_reopened') }}
-- Incremental by idea: a reopened idea (int_ideas_reopened) has its lifecycle joined again from
-- its own votes, status changes, comments and first response.
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[
            {'columns': ['community_id', 'idea_id'], 'unique': true},
            {'columns': ['community_id', 'submitted_on']},
            {'columns': ['community_id', 'first_response_on']},
        ],
        pre_hook=["{{ delete_reopened(ref('int_ideas_reopened'), ['community_id', 'idea_id']) }}"],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

{% if is_incremental() %}

reopened as (

    select * from {{ ref('int_ideas_reopened') }}

),

ideas as (

    select ideas.*
    from {{ ref('stg_pulse__ideas') }} as ideas
    inner join reopened
        on ideas.community_id = reopened.community_id
        and ideas.idea_id = reopened.idea_id

),

last_votes as (

    select last_votes.*
    from {{ ref('int_idea_votes_last') }} as last_votes
    inner join reopened
        on last_votes.community_id = reopened.community_id
        and last_votes.idea_id = reopened.idea_id

),

status_changes as (

    select status_changes.*
    from {{ ref('stg_pulse__idea_status_changes') }} as status_changes
    inner join reopened
        on status_changes.community_id = reopened.community_id
        and status_changes.idea_id = reopened.idea_id

),

comments as (

    select comments.*
    from {{ ref('stg_pulse__comments') }} as comments
    inner join reopened
        on comments.community_id = reopened.community_id
        and comments.post_id = reopened.idea_id

),

first_responses as (

    select first_responses.*
    from {{ ref('int_first_responses_found') }} as first_responses
    inner join reopened
        on first_responses.community_id = reopened.community_id
        and first_responses.item_id = reopened.idea_id
    where first_responses.item_type = 'idea'

),

{% else %}

ideas as (

    select * from {{ ref('stg_pulse__ideas') }}

),

last_votes as (

    select * from {{ ref('int_idea_votes_last') }}

),

status_changes as (

    select * from {{ ref('stg_pulse__idea_status_changes') }}

),

comments as (

    select * from {{ ref('stg_pulse__comments') }}

),

first_responses as (

    select * from {{ ref('int_first_responses_found') }}
    where item_type = 'idea'

),

{% endif %}

vote_totals as (

    select
        community_id,
        idea_id,
        count(*) filter (where vote_direction = 'up') as votes_up,
        count(*) filter (where vote_direction = 'down') as votes_down,
        count(*) as voters
    from last_votes
    group by community_id, idea_id

),

-- The status shown is the last one set; the decision is the first yes or no, even if the
-- status moved on later (accepted, then implemented).
status_history as (

    select
        community_id,
        idea_id,
        (array_agg(idea_status order by changed_at desc, event_id desc))[1] as current_status,
        max(changed_at) as status_changed_at,
        min(changed_at) filter (where is_decision) as decided_at,
        (array_agg(idea_status order by changed_at, event_id) filter (where is_decision))[1]
            as decision_status,
        count(*) as status_changes
    from status_changes
    group by community_id, idea_id

),

comment_totals as (

    select
        ideas.community_id,
        ideas.idea_id,
        count(*) as comments,
        count(*) filter (where comments.is_brand_voice) as brand_comments
    from ideas
    inner join comments
        on ideas.community_id = comments.community_id
        and ideas.idea_id = comments.post_id
    group by ideas.community_id, ideas.idea_id

),

final as (

    select
        -- ids
        ideas.idea_id,
        ideas.community_id,

        -- dimensions
        ideas.idea_title,
        ideas.idea_category,
        coalesce(status_history.current_status, 'submitted') as current_status,
        status_history.decision_status,

        -- measures
        coalesce(vote_totals.votes_up, 0)::integer as votes_up,
        coalesce(vote_totals.votes_down, 0)::integer as votes_down,
        coalesce(vote_totals.voters, 0)::integer as voters,
        coalesce(comment_totals.comments, 0)::integer as comments,
        coalesce(comment_totals.brand_comments, 0)::integer as brand_comments,
        coalesce(status_history.status_changes, 0)::integer as status_changes,
        ideas.sentiment,

        -- timestamps
        ideas.submitted_at,
        ideas.submitted_on,
        first_responses.first_response_at,
        first_responses.first_response_on,
        -- A decision dated before the submission (producers' clocks differ) was made at it.
        case
            when status_history.decided_at is not null
                then greatest(status_history.decided_at, ideas.submitted_at)
        end as decided_at,
        status_history.status_changed_at

    from ideas
    left join vote_totals
        on ideas.community_id = vote_totals.community_id
        and ideas.idea_id = vote_totals.idea_id
    left join status_history
        on ideas.community_id = status_history.community_id
        and ideas.idea_id = status_history.idea_id
    left join comment_totals
        on ideas.community_id = comment_totals.community_id
        and ideas.idea_id = comment_totals.idea_id
    left join first_responses
        on ideas.community_id = first_responses.community_id
        and ideas.idea_id = first_responses.item_id

)

select * from final
