-- depends_on: {{ ref('int_portal_days_reopened') }}
-- Feedback-portal activity per community and UTC day, for the days anything happened: ideas
-- submitted (and their sentiment), counted votes cast, status changes, and how fast the ideas
-- first answered that day were answered. Incremental by day: the days a run reopens
-- (int_portal_days_reopened) are aggregated again; a day left with nothing loses its row.
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='append',
        indexes=[{'columns': ['community_id', 'activity_date'], 'unique': true}],
        pre_hook=["{{ delete_reopened(
            ref('int_portal_days_reopened'), ['community_id', 'activity_date']
        ) }}"]
    )
}}

with

ideas as (

    select * from {{ ref('int_ideas_lifecycle_joined') }}

),

last_votes as (

    select * from {{ ref('int_idea_votes_last') }}

),

status_changes as (

    select * from {{ ref('stg_pulse__idea_status_changes') }}

),

{% if is_incremental() %}

days as (

    select * from {{ ref('int_portal_days_reopened') }}

),

daily_ideas as (

    select
        ideas.community_id,
        ideas.submitted_on as activity_date,
        count(*) as ideas_submitted,
        -- numeric: a sum that does not depend on the order of the rows (see the content table)
        avg(ideas.sentiment::numeric) as avg_sentiment
    from ideas
    inner join days
        on ideas.community_id = days.community_id
        and ideas.submitted_on = days.activity_date
    group by ideas.community_id, ideas.submitted_on

),

-- Only a member's last vote on an idea counts, on the day it was cast; a changed vote moves
-- from the day of the first vote to the day of the last.
daily_votes as (

    select
        last_votes.community_id,
        last_votes.voted_on as activity_date,
        count(*) as votes,
        count(*) filter (where last_votes.vote_direction = 'up') as votes_up,
        count(*) filter (where last_votes.vote_direction = 'down') as votes_down
    from last_votes
    inner join days
        on last_votes.community_id = days.community_id
        and last_votes.voted_on = days.activity_date
    group by last_votes.community_id, last_votes.voted_on

),

daily_statuses as (

    select
        status_changes.community_id,
        status_changes.changed_on as activity_date,
        count(*) filter (where status_changes.idea_status = 'accepted') as ideas_accepted,
        count(*) filter (where status_changes.idea_status = 'implemented') as ideas_implemented,
        count(*) filter (where status_changes.idea_status = 'declined') as ideas_declined
    from status_changes
    inner join days
        on status_changes.community_id = days.community_id
        and status_changes.changed_on = days.activity_date
    group by status_changes.community_id, status_changes.changed_on

),

-- How fast the brand answered, on the day it answered: a day's figure never changes later.
daily_responses as (

    select
        ideas.community_id,
        ideas.first_response_on as activity_date,
        percentile_cont(0.5) within group (
            order by extract(epoch from ideas.first_response_at - ideas.submitted_at) / 3600
        ) as median_response_hours
    from ideas
    inner join days
        on ideas.community_id = days.community_id
        and ideas.first_response_on = days.activity_date
    where ideas.first_response_at is not null
    group by ideas.community_id, ideas.first_response_on

),

{% else %}

daily_ideas as (

    select
        community_id,
        submitted_on as activity_date,
        count(*) as ideas_submitted,
        avg(sentiment::numeric) as avg_sentiment
    from ideas
    group by community_id, submitted_on

),

daily_votes as (

    select
        community_id,
        voted_on as activity_date,
        count(*) as votes,
        count(*) filter (where vote_direction = 'up') as votes_up,
        count(*) filter (where vote_direction = 'down') as votes_down
    from last_votes
    group by community_id, voted_on

),

daily_statuses as (

    select
        community_id,
        changed_on as activity_date,
        count(*) filter (where idea_status = 'accepted') as ideas_accepted,
        count(*) filter (where idea_status = 'implemented') as ideas_implemented,
        count(*) filter (where idea_status = 'declined') as ideas_declined
    from status_changes
    group by community_id, changed_on

),

daily_responses as (

    select
        community_id,
        first_response_on as activity_date,
        percentile_cont(0.5) within group (
            order by extract(epoch from first_response_at - submitted_at) / 3600
        ) as median_response_hours
    from ideas
    where first_response_at is not null
    group by community_id, first_response_on

),

{% endif %}

feedback_days as (

    select
        community_id,
        activity_date
    from daily_ideas

    union

    select
        community_id,
        activity_date
    from daily_votes

    union

    select
        community_id,
        activity_date
    from daily_statuses

    union

    select
        community_id,
        activity_date
    from daily_responses

),

final as (

    select
        -- ids
        feedback_days.community_id,
        feedback_days.activity_date,

        -- measures
        coalesce(daily_ideas.ideas_submitted, 0)::bigint as ideas_submitted,
        coalesce(daily_votes.votes, 0)::bigint as votes,
        coalesce(daily_votes.votes_up, 0)::bigint as votes_up,
        coalesce(daily_votes.votes_down, 0)::bigint as votes_down,
        coalesce(daily_statuses.ideas_accepted, 0)::bigint as ideas_accepted,
        coalesce(daily_statuses.ideas_implemented, 0)::bigint as ideas_implemented,
        coalesce(daily_statuses.ideas_declined, 0)::bigint as ideas_declined,
        daily_responses.median_response_hours,
        daily_ideas.avg_sentiment

    from feedback_days
    left join daily_ideas
        on feedback_days.community_id = daily_ideas.community_id
        and feedback_days.activity_date = daily_ideas.activity_date
    left join daily_votes
        on feedback_days.community_id = daily_votes.community_id
        and feedback_days.activity_date = daily_votes.activity_date
    left join daily_statuses
        on feedback_days.community_id = daily_statuses.community_id
        and feedback_days.activity_date = daily_statuses.activity_date
    left join daily_responses
        on feedback_days.community_id = daily_responses.community_id
        and feedback_days.activity_date = daily_responses.activity_date

)

select * from final
