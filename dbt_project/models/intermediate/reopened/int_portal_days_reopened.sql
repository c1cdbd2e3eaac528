-- depends_on: {{ ref('int_community_days_reopened') }}
-- depends_on: {{ ref('int_ideas_reopened') }}
-- depends_on: {{ ref('stg_pulse__idea_votes') }}
-- depends_on: {{ ref('int_first_responses_found') }}
-- The days whose feedback figures the run may change: the community days reopened, every day
-- a reopened idea was voted on (a member's last vote moves to the day of their new vote), and
-- the days a reopened idea was first answered, before (the base build's fct_feedback_ideas) and
-- now. Empty in a full build.
{{
    config(
        materialized='table',
        indexes=[{'columns': ['community_id', 'activity_date']}],
        post_hook=["analyze {{ this }}"]
    )
}}

with

{% if pulse_incremental() %}

ideas as (

    select * from {{ ref('int_ideas_reopened') }}

),

changed_days as (

    select
        community_id,
        activity_date
    from {{ ref('int_community_days_reopened') }}

    union

    select
        votes.community_id,
        votes.voted_on as activity_date
    from {{ ref('stg_pulse__idea_votes') }} as votes
    inner join ideas
        on votes.community_id = ideas.community_id
        and votes.idea_id = ideas.idea_id

    union

    select
        responses.community_id,
        responses.first_response_on as activity_date
    from {{ ref('int_first_responses_found') }} as responses
    inner join ideas
        on responses.community_id = ideas.community_id
        and responses.item_id = ideas.idea_id
    where responses.item_type = 'idea' and responses.first_response_on is not null

    union

    select
        base_ideas.community_id,
        (base_ideas.first_response_at at time zone 'UTC')::date as activity_date
    from {{ base_build_mart('fct_feedback_ideas') }} as base_ideas
    inner join ideas
        on base_ideas.community_id = ideas.community_id
        and base_ideas.idea_id = ideas.idea_id
    where base_ideas.first_response_at is not null

    union

    select
        base_ideas.community_id,
        base_ideas.submitted_on as activity_date
    from {{ base_build_mart('fct_feedback_ideas') }} as base_ideas
    inner join ideas
        on base_ideas.community_id = ideas.community_id
        and base_ideas.idea_id = ideas.idea_id

),

{% else %}

changed_days as (

    select
        null::text as community_id,
        null::date as activity_date
    where false

),

{% endif %}

final as (

    select
        -- ids
        community_id,

        -- timestamps
        activity_date

    from changed_days

)

select * from final
