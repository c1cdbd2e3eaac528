-- depends_on: {{ ref('int_brand_weeks_reopened') }}
-- One row per brand per ISO week. Incremental builds start from the base build's rows: the brand
-- weeks a run reopens (int_brand_weeks_reopened) are rebuilt, from those weeks' posts, members
-- and member days only; every other row is the base build's.

with

communities as (

    select * from {{ ref('stg_pulse__communities') }}
    where
        brand_id is not null
        and community_kind in ('micro', 'broad')

),

-- The calendar, with the members each community had at the start of each day.
community_days as (

    select * from {{ ref('int_community_days_membership_counted') }}

),

{% if pulse_incremental() %}

reopened as (

    select * from {{ ref('int_brand_weeks_reopened') }}

),

{% else %}

reopened as (

    select distinct
        communities.brand_id,
        date_trunc('week', community_days.activity_date::timestamp)::date as week_start
    from community_days
    inner join communities
        on community_days.community_id = communities.community_id

),

{% endif %}

community_weeks as (

    select distinct
        community_days.community_id,
        date_trunc('week', community_days.activity_date::timestamp)::date as week_start,
        communities.brand_id,
        communities.community_kind
    from community_days
    inner join communities
        on community_days.community_id = communities.community_id
    inner join reopened
        on communities.brand_id = reopened.brand_id
        and community_days.activity_date >= reopened.week_start
        and community_days.activity_date < reopened.week_start + 7

),

weekly_posts as (

    select
        posts.community_id,
        posts.created_week as week_start,
        count(*) as posts,
        sum(posts.engagements) as engagements
    from {{ ref('int_posts_engagement_summed') }} as posts
    inner join community_weeks
        on posts.community_id = community_weeks.community_id
        and posts.created_week = community_weeks.week_start
    group by posts.community_id, posts.created_week

),

-- A post can reach the members a community had when the week began: the rate's denominator is
-- posts x those members, summed over the brand's communities of one kind. Members at the start
-- of the week are the members at the start of its Monday (none before the community's first
-- day).
members_at_week_start as (

    select
        community_weeks.community_id,
        community_weeks.week_start,
        community_days.members_at_start as members
    from community_weeks
    inner join community_days
        on community_weeks.community_id = community_days.community_id
        and community_weeks.week_start = community_days.activity_date

),

-- Each community's active members that week: a side is shown only when each of its
-- communities' weeks could be (fct_community_health), since the side's totals minus the
-- communities shown would otherwise give a small week's figures away. A week with nobody active
-- adds nothing to any figure of the side, so it hides nothing.
community_week_active as (

    select
        community_weeks.community_id,
        community_weeks.week_start,
        count(distinct member_days.member_key) as active_members
    from {{ ref('int_member_days_aggregated') }} as member_days
    inner join community_weeks
        on member_days.community_id = community_weeks.community_id
        and member_days.activity_date >= community_weeks.week_start
        and member_days.activity_date < community_weeks.week_start + 7
    group by community_weeks.community_id, community_weeks.week_start

),

-- A member active in two of the brand's micro communities is one active member of that side.
side_active_members as (

    select
        community_weeks.brand_id,
        community_weeks.community_kind,
        community_weeks.week_start,
        count(distinct member_days.member_key) as active_members
    from {{ ref('int_member_days_aggregated') }} as member_days
    inner join community_weeks
        on member_days.community_id = community_weeks.community_id
        and member_days.activity_date >= community_weeks.week_start
        and member_days.activity_date < community_weeks.week_start + 7
    group by community_weeks.brand_id, community_weeks.community_kind, community_weeks.week_start

),

sides as (

    select
        community_weeks.brand_id,
        community_weeks.week_start,
        community_weeks.community_kind,
        count(*) as communities,
        bool_or(community_week_active.active_members < {{ min_group_size() }})
            as has_small_community,
        sum(coalesce(weekly_posts.posts, 0)) as posts,
        sum(coalesce(weekly_posts.engagements, 0)) as engagements,
        sum(coalesce(weekly_posts.posts, 0) * coalesce(members_at_week_start.members, 0))
            as opportunities
    from community_weeks
    left join weekly_posts
        on community_weeks.community_id = weekly_posts.community_id
        and community_weeks.week_start = weekly_posts.week_start
    left join members_at_week_start
        on community_weeks.community_id = members_at_week_start.community_id
        and community_weeks.week_start = members_at_week_start.week_start
    left join community_week_active
        on community_weeks.community_id = community_week_active.community_id
        and community_weeks.week_start = community_week_active.week_start
    group by community_weeks.brand_id, community_weeks.week_start, community_weeks.community_kind

),

sides_screened as (

    select
        sides.*,
        coalesce(side_active_members.active_members, 0) as active_members,
        coalesce(side_active_members.active_members, 0) < {{ min_group_size() }}
        or coalesce(sides.has_small_community, false) as is_suppressed
    from sides
    left join side_active_members
        on sides.brand_id = side_active_members.brand_id
        and sides.community_kind = side_active_members.community_kind
        and sides.week_start = side_active_members.week_start

),

brand_weeks as (

    select
        brand_id,
        week_start,
        max(communities) filter (where community_kind = 'micro') as micro_communities,
        max(communities) filter (where community_kind = 'broad') as broad_communities,
        bool_or(is_suppressed) filter (where community_kind = 'micro') as micro_suppressed,
        bool_or(is_suppressed) filter (where community_kind = 'broad') as broad_suppressed,
        max(active_members) filter (where community_kind = 'micro') as micro_active_members,
        max(active_members) filter (where community_kind = 'broad') as broad_active_members,
        max(posts) filter (where community_kind = 'micro') as micro_posts,
        max(posts) filter (where community_kind = 'broad') as broad_posts,
        max(engagements) filter (where community_kind = 'micro') as micro_engagements,
        max(engagements) filter (where community_kind = 'broad') as broad_engagements,
        max(opportunities) filter (where community_kind = 'micro') as micro_opportunities,
        max(opportunities) filter (where community_kind = 'broad') as broad_opportunities
    from sides_screened
    group by brand_id, week_start

),

-- A side with too few active members shows nothing member-derived, and neither do the figures
-- that compare the two sides.
screened as (

    select
        brand_id,
        week_start,
        coalesce(micro_communities, 0) as micro_communities,
        coalesce(broad_communities, 0) as broad_communities,
        coalesce(micro_suppressed, false) or coalesce(broad_suppressed, false) as is_suppressed,
        case when not micro_suppressed then micro_active_members end as micro_active_members,
        case when not broad_suppressed then broad_active_members end as broad_active_members,
        case when not micro_suppressed then micro_posts end as micro_posts,
        case when not broad_suppressed then broad_posts end as broad_posts,
        case when not micro_suppressed then micro_engagements end as micro_engagements,
        case when not broad_suppressed then broad_engagements end as broad_engagements,
        case when not micro_suppressed then micro_opportunities end as micro_opportunities,
        case when not broad_suppressed then broad_opportunities end as broad_opportunities,
        -- Comparisons need both sides present and shown.
        (
            not coalesce(micro_suppressed, true)
            and not coalesce(broad_suppressed, true)
        ) as is_comparable
    from brand_weeks

),

-- Engagements are counts of events, not successes out of trials: the rates get Poisson
-- intervals and the lift an interval for a ratio of Poisson rates; the small-group share is a
-- proportion of all engagement and keeps Wilson's.
rated as (

    select
        *,
        {{ ratio('micro_engagements', 'micro_opportunities', 6) }} as micro_engagement_rate,
        {{ poisson_rate_bound('micro_engagements', 'micro_opportunities', 'lower') }}
            as micro_engagement_rate_lower_95,
        {{ poisson_rate_bound('micro_engagements', 'micro_opportunities', 'upper') }}
            as micro_engagement_rate_upper_95,
        {{ ratio('broad_engagements', 'broad_opportunities', 6) }} as broad_engagement_rate,
        {{ poisson_rate_bound('broad_engagements', 'broad_opportunities', 'lower') }}
            as broad_engagement_rate_lower_95,
        {{ poisson_rate_bound('broad_engagements', 'broad_opportunities', 'upper') }}
            as broad_engagement_rate_upper_95,
        -- From the counts, not from the rounded rates; like the rates, only with exposure on
        -- both sides.
        case
            when micro_opportunities > 0 and broad_opportunities > 0
                then {{ ratio('micro_engagements::numeric * broad_opportunities',
                              'broad_engagements::numeric * micro_opportunities', 4) }}
        end as lift_estimate,
        {{ poisson_ratio_bound('micro_engagements', 'micro_opportunities',
                               'broad_engagements', 'broad_opportunities', 'lower') }}
            as lift_lower_estimate,
        {{ poisson_ratio_bound('micro_engagements', 'micro_opportunities',
                               'broad_engagements', 'broad_opportunities', 'upper') }}
            as lift_upper_estimate,
        coalesce(micro_engagements, 0) + coalesce(broad_engagements, 0) as all_engagements
    from screened

),

rebuilt as (

    select
        -- ids
        brand_id::text as brand_id,
        week_start::date as week_start,

        -- dimensions
        is_suppressed::boolean as is_suppressed,

        -- measures
        micro_communities::integer as micro_communities,
        broad_communities::integer as broad_communities,
        micro_active_members::integer as micro_active_members,
        broad_active_members::integer as broad_active_members,
        micro_posts::integer as micro_posts,
        broad_posts::integer as broad_posts,
        micro_engagements::integer as micro_engagements,
        broad_engagements::integer as broad_engagements,
        micro_opportunities::bigint as micro_member_post_opportunities,
        broad_opportunities::bigint as broad_member_post_opportunities,
        micro_engagement_rate::numeric(14, 6) as micro_engagement_rate,
        micro_engagement_rate_lower_95::numeric(14, 6) as micro_engagement_rate_lower_95,
        micro_engagement_rate_upper_95::numeric(14, 6) as micro_engagement_rate_upper_95,
        broad_engagement_rate::numeric(14, 6) as broad_engagement_rate,
        broad_engagement_rate_lower_95::numeric(14, 6) as broad_engagement_rate_lower_95,
        broad_engagement_rate_upper_95::numeric(14, 6) as broad_engagement_rate_upper_95,
        (case when is_comparable then lift_estimate end)::numeric(20, 4) as lift,
        (case when is_comparable then lift_lower_estimate end)::numeric(20, 4) as lift_lower_95,
        (case when is_comparable then lift_upper_estimate end)::numeric(20, 4) as lift_upper_95,
        -- A brand without broad communities has all its engagement in small groups: share 1.
        (case
            when not is_suppressed
                then {{ ratio('coalesce(micro_engagements, 0)', 'all_engagements', 6) }}
        end)::numeric(14, 6) as small_group_engagement_share,
        (case
            when not is_suppressed
                then {{ wilson_bound(
                    'coalesce(micro_engagements, 0)', 'all_engagements', 'lower'
                ) }}
        end)::numeric(14, 6) as small_group_engagement_share_lower_95,
        (case
            when not is_suppressed
                then {{ wilson_bound(
                    'coalesce(micro_engagements, 0)', 'all_engagements', 'upper'
                ) }}
        end)::numeric(14, 6) as small_group_engagement_share_upper_95

    from rated

),

{% if pulse_incremental() %}

-- The brand weeks the calendar has now: an erasure can move a community's first day later, and
-- the weeks before it are then gone (nothing reopens a week that no longer exists).
brand_calendar as (

    select distinct
        communities.brand_id,
        date_trunc('week', community_days.activity_date::timestamp)::date as week_start
    from community_days
    inner join communities
        on community_days.community_id = communities.community_id

),

-- The base build's rows of brand weeks not rebuilt, while the calendar still has them.
kept as (

    select base.*
    from {{ base_build_relation() }} as base
    inner join brand_calendar
        on base.brand_id = brand_calendar.brand_id
        and base.week_start = brand_calendar.week_start
    left join reopened
        on base.brand_id = reopened.brand_id
        and base.week_start = reopened.week_start
    where reopened.brand_id is null

),

final as (

    select * from rebuilt
    union all
    select * from kept

)

{% else %}

final as (

    select * from rebuilt

)

{% endif %}

select * from final
