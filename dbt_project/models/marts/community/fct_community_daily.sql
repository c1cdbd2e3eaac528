{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['community_id', 'activity_date'],
        on_schema_change='append_new_columns'
    )
}}

with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

member_days as (

    select * from {{ ref('int_member_days_aggregated') }}

),

memberships as (

    select * from {{ ref('int_memberships_observed') }}

),

posts as (

    select * from {{ ref('int_posts_engagement_summed') }}

),

comments as (

    select * from {{ ref('stg_pulse__comments') }}

),

reactions as (

    select * from {{ ref('stg_pulse__reactions') }}

),

shares as (

    select * from {{ ref('stg_pulse__shares') }}

),

post_engagements as (

    select * from {{ ref('int_post_engagements_resolved') }}

),

post_responses as (

    select * from {{ ref('int_first_responses_found') }}
    where item_type = 'post'

),

erasures as (

    select * from {{ ref('stg_pulse__erasures') }}

),

{% if is_incremental() %}

-- Late events land within `lookback_days` of the newest day built: rebuild from there.
reprocess_window as (

    select coalesce(
        max(activity_date) - {{ var('lookback_days') | int }},
        date '1970-01-01'
    ) as reprocess_from
    from {{ this }}

),

-- A post's engagement counts on the post's day, whenever it happens: engagement inside the
-- window reopens the older days of the posts it lands on.
reopened_post_days as (

    select distinct
        posts.community_id,
        posts.created_on as activity_date
    from posts
    inner join post_engagements
        on posts.community_id = post_engagements.community_id
        and posts.post_id = post_engagements.post_id
    cross join reprocess_window
    where post_engagements.engaged_on >= reprocess_window.reprocess_from
        and posts.created_on < reprocess_window.reprocess_from

),

-- An erasure takes the member out of every day since their first event there (members, WAU,
-- MAU), so those days are rebuilt and match a full refresh.
reopened_erasure_days as (

    select
        spine.community_id,
        spine.activity_date
    from spine
    inner join erasures
        on spine.community_id = erasures.community_id
        and spine.activity_date >= erasures.first_erased_activity_on
    cross join reprocess_window
    where erasures.erasure_recorded_on >= reprocess_window.reprocess_from

),

days_to_build as (

    select spine.community_id, spine.activity_date
    from spine
    cross join reprocess_window
    where spine.activity_date >= reprocess_window.reprocess_from

    union

    select community_id, activity_date from reopened_post_days

    union

    select community_id, activity_date from reopened_erasure_days

),

{% else %}

days_to_build as (

    select community_id, activity_date from spine

),

{% endif %}

-- Membership: a member counts on every day of a membership, the day it ends included: +1 on
-- the day it starts, -1 on the day after it ends; the running sum is the day's members.
membership_edges as (

    select
        community_id,
        started_on as edge_on,
        1 as member_delta,
        1 as joins,
        (join_source = 'observed')::integer as observed_joins,
        0 as leaves
    from memberships

    union all

    select community_id, ended_on + 1, -1, 0, 0, 0
    from memberships
    where ended_on is not null

    union all

    select community_id, ended_on, 0, 0, 0, 1
    from memberships
    where ended_on is not null

),

-- WAU/MAU: a member counts on day d when active on any of the 7 (30) days up to d. Each active
-- day opens a window that closes after 7 (30) days or at the member's next active day, so a
-- member's windows never overlap and a running sum of +1/-1 edges counts each member once.
activity_windows as (

    select
        community_id,
        activity_date,
        lead(activity_date) over (
            partition by community_id, member_key
            order by activity_date
        ) as next_active_on
    from member_days

),

activity_edges as (

    select community_id, activity_date as edge_on, 1 as wau_delta, 1 as mau_delta
    from activity_windows

    union all

    select community_id, least(activity_date + 7, next_active_on), -1, 0
    from activity_windows

    union all

    select community_id, least(activity_date + 30, next_active_on), 0, -1
    from activity_windows

),

daily_edges as (

    select
        spine.community_id,
        spine.activity_date,
        coalesce(membership.member_delta, 0) as member_delta,
        coalesce(membership.joins, 0) as members_new,
        coalesce(membership.observed_joins, 0) as members_new_observed,
        coalesce(membership.leaves, 0) as members_left,
        coalesce(activity.wau_delta, 0) as wau_delta,
        coalesce(activity.mau_delta, 0) as mau_delta
    from spine
    left join (
        select
            community_id,
            edge_on,
            sum(member_delta) as member_delta,
            sum(joins) as joins,
            sum(observed_joins) as observed_joins,
            sum(leaves) as leaves
        from membership_edges
        group by community_id, edge_on
    ) as membership
        on spine.community_id = membership.community_id
        and spine.activity_date = membership.edge_on
    left join (
        select
            community_id,
            edge_on,
            sum(wau_delta) as wau_delta,
            sum(mau_delta) as mau_delta
        from activity_edges
        group by community_id, edge_on
    ) as activity
        on spine.community_id = activity.community_id
        and spine.activity_date = activity.edge_on

),

-- Running sums need every day from the community's first, not only the days being rebuilt.
running_totals as (

    select
        community_id,
        activity_date,
        members_new,
        members_new_observed,
        members_left,
        sum(member_delta) over community_days as members_total,
        sum(wau_delta) over community_days as wau,
        sum(mau_delta) over community_days as mau
    from daily_edges
    window community_days as (
        partition by community_id
        order by activity_date
        rows between unbounded preceding and current row
    )

),

daily_active as (

    select
        community_id,
        activity_date,
        count(*) as active_members
    from member_days
    group by community_id, activity_date

),

-- Engagement of a day is the engagement its posts received.
daily_posts as (

    select
        community_id,
        created_on as activity_date,
        count(*) as posts,
        count(*) filter (where not is_brand_voice) as ugc_posts,
        count(*) filter (where is_brand_voice) as brand_posts,
        sum(engagements) as engagements
    from posts
    group by community_id, created_on

),

daily_comments as (

    select
        community_id,
        created_on as activity_date,
        count(*) as comments,
        count(*) filter (where is_brand_voice) as brand_comments
    from comments
    group by community_id, created_on

),

daily_reactions as (

    select
        community_id,
        reacted_on as activity_date,
        count(*) filter (where reaction_action = 'added') as reactions
    from reactions
    group by community_id, reacted_on

),

daily_shares as (

    select
        community_id,
        shared_on as activity_date,
        count(*) as shares
    from shares
    group by community_id, shared_on

),

-- Sentiment of what was written that day; VADER's convention: compound <= -0.05 is negative.
daily_sentiment as (

    select
        community_id,
        activity_date,
        avg(sentiment) as avg_sentiment,
        count(*) as scored_items,
        count(*) filter (where sentiment <= -0.05) as negative_items
    from (
        select community_id, created_on as activity_date, sentiment from posts
        union all
        select community_id, created_on, sentiment from comments
    ) as written
    where sentiment is not null
    group by community_id, activity_date

),

daily_responses as (

    select
        community_id,
        created_on as activity_date,
        percentile_cont(0.5) within group (order by first_response_minutes) as median_minutes
    from post_responses
    where first_response_minutes is not null
    group by community_id, created_on

),

measured as (

    select
        days_to_build.community_id,
        days_to_build.activity_date,
        coalesce(daily_active.active_members, 0) < {{ min_group_size() }} as is_suppressed,
        running_totals.members_total,
        running_totals.members_new,
        running_totals.members_new_observed,
        running_totals.members_left,
        -- Members at the start of the day: the day's members but those whose membership began
        -- that day.
        running_totals.members_total - running_totals.members_new as members_at_start,
        coalesce(daily_active.active_members, 0) as active_members,
        running_totals.wau,
        running_totals.mau,
        coalesce(daily_posts.posts, 0) as posts,
        coalesce(daily_comments.comments, 0) as comments,
        coalesce(daily_reactions.reactions, 0) as reactions,
        coalesce(daily_shares.shares, 0) as shares,
        coalesce(daily_posts.ugc_posts, 0) as ugc_posts,
        coalesce(daily_posts.brand_posts, 0) as brand_posts,
        coalesce(daily_comments.brand_comments, 0) as brand_comments,
        coalesce(daily_posts.engagements, 0) as engagements,
        daily_sentiment.avg_sentiment,
        daily_sentiment.scored_items,
        daily_sentiment.negative_items,
        daily_responses.median_minutes
    from days_to_build
    inner join running_totals
        on days_to_build.community_id = running_totals.community_id
        and days_to_build.activity_date = running_totals.activity_date
    left join daily_active
        on days_to_build.community_id = daily_active.community_id
        and days_to_build.activity_date = daily_active.activity_date
    left join daily_posts
        on days_to_build.community_id = daily_posts.community_id
        and days_to_build.activity_date = daily_posts.activity_date
    left join daily_comments
        on days_to_build.community_id = daily_comments.community_id
        and days_to_build.activity_date = daily_comments.activity_date
    left join daily_reactions
        on days_to_build.community_id = daily_reactions.community_id
        and days_to_build.activity_date = daily_reactions.activity_date
    left join daily_shares
        on days_to_build.community_id = daily_shares.community_id
        and days_to_build.activity_date = daily_shares.activity_date
    left join daily_sentiment
        on days_to_build.community_id = daily_sentiment.community_id
        and days_to_build.activity_date = daily_sentiment.activity_date
    left join daily_responses
        on days_to_build.community_id = daily_responses.community_id
        and days_to_build.activity_date = daily_responses.activity_date

),

final as (

    select
        -- ids
        community_id::text as community_id,
        activity_date::date as activity_date,

        -- dimensions
        is_suppressed::boolean as is_suppressed,

        -- measures (member-derived: null when the day has too few active members)
        {{ unless_suppressed('members_total') }}::integer as members_total,
        {{ unless_suppressed('members_new') }}::integer as members_new,
        {{ unless_suppressed('members_new_observed') }}::integer as members_new_observed,
        {{ unless_suppressed('members_left') }}::integer as members_left,
        {{ unless_suppressed('members_at_start') }}::integer as members_at_start,
        {{ unless_suppressed('active_members') }}::integer as active_members,
        {{ unless_suppressed('wau') }}::integer as wau,
        {{ unless_suppressed('mau') }}::integer as mau,
        {{ unless_suppressed(ratio('active_members', 'mau', 4)) }}::numeric(12,4) as stickiness,
        {{ unless_suppressed('posts') }}::integer as posts,
        {{ unless_suppressed('comments') }}::integer as comments,
        {{ unless_suppressed('reactions') }}::integer as reactions,
        {{ unless_suppressed('shares') }}::integer as shares,
        {{ unless_suppressed('ugc_posts') }}::integer as ugc_posts,
        {{ unless_suppressed('brand_posts') }}::integer as brand_posts,
        {{ unless_suppressed(ratio('brand_posts + brand_comments', 'posts + comments', 4)) }}::numeric(12,4)
            as brand_voice_share,
        {{ unless_suppressed('engagements') }}::integer as engagements,
        {{ unless_suppressed(ratio('engagements', 'posts', 4)) }}::numeric(12,4) as engagements_per_post,
        {{ unless_suppressed(ratio('engagements', 'posts * members_at_start', 6)) }}::numeric(14,6)
            as engagement_rate,
        {{ unless_suppressed('round(avg_sentiment::numeric, 4)') }}::numeric(12,4) as avg_sentiment,
        {{ unless_suppressed(ratio('negative_items', 'scored_items', 4)) }}::numeric(12,4)
            as negative_share,
        {{ unless_suppressed('round(median_minutes::numeric, 2)') }}::numeric(14,2)
            as median_first_response_minutes

    from measured

)

select * from final
