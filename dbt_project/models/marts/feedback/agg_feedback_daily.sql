-- One row per feedback portal per day, rebuilt in full on every run from two incremental day
-- tables (feedback activity, active members): a projection, as cheap as the portal-days are
-- many. Days are suppressed exactly as in fct_community_daily (macros/suppression.sql).

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

memberships as (

    select * from {{ ref('int_memberships_observed') }}

),

{{ suppressed_community_days('spine', 'activity') }}

{{ idea_votes_hidden('ideas') }}

-- Whether fct_feedback_ideas shows its ideas' sentiment: when the community has ever had the
-- minimum group size of active members (ever active = ever a member, see dim_community).
community_active as (

    select
        community_id,
        count(distinct member_key) < {{ min_group_size() }} as ideas_suppressed
    from memberships
    group by community_id

),

portals_votes_hidden as (

    select
        community_id,
        bool_or(portal_votes_hidden) as portal_votes_hidden
    from idea_votes_hidden
    group by community_id

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
        suppressed_days.is_suppressed,
        suppressed_days.is_suppressed
        or coalesce(portals_votes_hidden.portal_votes_hidden, false) as votes_hidden,
        coalesce(community_active.ideas_suppressed, true) as ideas_suppressed,
        suppressed_days.active_members,
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
    inner join suppressed_days
        on portal_days.community_id = suppressed_days.community_id
        and portal_days.activity_date = suppressed_days.activity_date
    left join portals_votes_hidden
        on portal_days.community_id = portals_votes_hidden.community_id
    left join community_active
        on portal_days.community_id = community_active.community_id
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

        -- measures (the day's members: null when the day is suppressed; votes also when they
        -- add up to a single idea's; the ideas' own figures as fct_feedback_ideas shows them)
        {{ unless_suppressed('active_members') }}::integer as active_members,
        -- fct_feedback_ideas lists every idea with its submission time: not hidden by day.
        ideas_submitted::integer as ideas_submitted,
        {{ unless_suppressed('votes', 'votes_hidden') }}::integer as votes,
        {{ unless_suppressed('votes_up', 'votes_hidden') }}::integer as votes_up,
        {{ unless_suppressed('votes_down', 'votes_hidden') }}::integer as votes_down,
        {{ unless_suppressed('ideas_accepted') }}::integer as ideas_accepted,
        {{ unless_suppressed('ideas_implemented') }}::integer as ideas_implemented,
        {{ unless_suppressed('ideas_declined') }}::integer as ideas_declined,
        -- Of the day's decisions, the share that said yes.
        {{ unless_suppressed(
            ratio('ideas_accepted', 'ideas_accepted + ideas_declined', 4)
        ) }}::numeric(12, 4) as acceptance_rate,
        -- The brand's response times are shown idea by idea in fct_feedback_ideas.
        round(median_response_hours::numeric, 2)::numeric(14, 2) as median_response_hours,
        -- The ideas' sentiment, shown where fct_feedback_ideas shows it.
        {{ unless_suppressed(
            'round(avg_sentiment::numeric, 4)', 'ideas_suppressed'
        ) }}::numeric(12, 4) as avg_sentiment

    from measured

)

{{ with_brand('final') }}
