-- One row per feedback portal per day, rebuilt in full on every run from two incremental day
-- tables (feedback activity, active members): a projection, as cheap as the portal-days are
-- many.

with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

ideas as (

    select * from {{ ref('int_ideas_lifecycle_joined') }}

),

feedback as (

    select * from {{ ref('int_community_days_feedback_aggregated') }}

),

activity as (

    select * from {{ ref('int_community_days_activity_counted') }}

),

-- Feedback portals only: communities where at least one idea was submitted.
portal_days as (

    select
        spine.community_id,
        spine.activity_date
    from spine
    where spine.community_id in (select ideas.community_id from ideas)

),

measured as (

    select
        portal_days.community_id,
        portal_days.activity_date,
        coalesce(activity.active_members, 0) < {{ min_group_size() }} as is_suppressed,
        coalesce(activity.active_members, 0) as active_members,
        coalesce(feedback.ideas_submitted, 0) as ideas_submitted,
        coalesce(feedback.votes, 0) as votes,
        coalesce(feedback.votes_up, 0) as votes_up,
        coalesce(feedback.votes_down, 0) as votes_down,
        coalesce(feedback.ideas_accepted, 0) as ideas_accepted,
        coalesce(feedback.ideas_implemented, 0) as ideas_implemented,
        coalesce(feedback.ideas_declined, 0) as ideas_declined,
        feedback.median_response_hours,
        feedback.avg_sentiment
    from portal_days
    left join activity
        on portal_days.community_id = activity.community_id
        and portal_days.activity_date = activity.activity_date
    left join feedback
        on portal_days.community_id = feedback.community_id
        and portal_days.activity_date = feedback.activity_date

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
