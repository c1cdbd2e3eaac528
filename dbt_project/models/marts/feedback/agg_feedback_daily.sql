with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

ideas as (

    select * from {{ ref('int_ideas_lifecycle_joined') }}

),

last_votes as (

    select * from {{ ref('int_idea_votes_last') }}

),

status_changes as (

    select * from {{ ref('stg_pulse__idea_status_changes') }}

),

member_days as (

    select * from {{ ref('int_member_days_aggregated') }}

),

-- Feedback portals only: communities where at least one idea was submitted.
portal_days as (

    select
        spine.community_id,
        spine.activity_date
    from spine
    where spine.community_id in (select ideas.community_id from ideas)

),

daily_ideas as (

    select
        community_id,
        submitted_on as activity_date,
        count(*) as ideas_submitted,
        avg(sentiment) as avg_sentiment
    from ideas
    group by community_id, submitted_on

),

-- Only a member's last vote on an idea counts, on the day it was cast; a changed vote moves
-- from the day of the first vote to the day of the last.
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

-- How fast the brand answered, on the day it answered: a day's figure never changes later.
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

daily_active as (

    select
        community_id,
        activity_date,
        count(*) as active_members
    from member_days
    group by community_id, activity_date

),

measured as (

    select
        portal_days.community_id,
        portal_days.activity_date,
        coalesce(daily_active.active_members, 0) < {{ min_group_size() }} as is_suppressed,
        coalesce(daily_active.active_members, 0) as active_members,
        coalesce(daily_ideas.ideas_submitted, 0) as ideas_submitted,
        coalesce(daily_votes.votes, 0) as votes,
        coalesce(daily_votes.votes_up, 0) as votes_up,
        coalesce(daily_votes.votes_down, 0) as votes_down,
        coalesce(daily_statuses.ideas_accepted, 0) as ideas_accepted,
        coalesce(daily_statuses.ideas_implemented, 0) as ideas_implemented,
        coalesce(daily_statuses.ideas_declined, 0) as ideas_declined,
        daily_responses.median_response_hours,
        daily_ideas.avg_sentiment
    from portal_days
    left join daily_active
        on portal_days.community_id = daily_active.community_id
        and portal_days.activity_date = daily_active.activity_date
    left join daily_ideas
        on portal_days.community_id = daily_ideas.community_id
        and portal_days.activity_date = daily_ideas.activity_date
    left join daily_votes
        on portal_days.community_id = daily_votes.community_id
        and portal_days.activity_date = daily_votes.activity_date
    left join daily_statuses
        on portal_days.community_id = daily_statuses.community_id
        and portal_days.activity_date = daily_statuses.activity_date
    left join daily_responses
        on portal_days.community_id = daily_responses.community_id
        and portal_days.activity_date = daily_responses.activity_date

),

final as (

    select
        -- ids
        community_id::text as community_id,
        activity_date::date as activity_date,

        -- dimensions
        is_suppressed::boolean as is_suppressed,

        -- measures (null when the day has too few active members)
        {{ unless_suppressed('active_members') }}::integer as active_members,
        {{ unless_suppressed('ideas_submitted') }}::integer as ideas_submitted,
        {{ unless_suppressed('votes') }}::integer as votes,
        {{ unless_suppressed('votes_up') }}::integer as votes_up,
        {{ unless_suppressed('votes_down') }}::integer as votes_down,
        {{ unless_suppressed('ideas_accepted') }}::integer as ideas_accepted,
        {{ unless_suppressed('ideas_implemented') }}::integer as ideas_implemented,
        {{ unless_suppressed('ideas_declined') }}::integer as ideas_declined,
        -- Of the day's decisions, the share that said yes.
        {{ unless_suppressed(
            ratio('ideas_accepted', 'ideas_accepted + ideas_declined', 4)
        ) }}::numeric(12, 4) as acceptance_rate,
        {{ unless_suppressed('round(median_response_hours::numeric, 2)') }}::numeric(14, 2)
            as median_response_hours,
        {{ unless_suppressed('round(avg_sentiment::numeric, 4)') }}::numeric(12, 4) as avg_sentiment

    from measured

)

select * from final
