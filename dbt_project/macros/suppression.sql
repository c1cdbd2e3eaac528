{#-
    Suppression that holds (dbt_project/README.md, "Rules worth knowing", privacy): a figure
    hidden because its group has fewer than min_group_size members must not follow from the
    figures the marts do publish. Each macro below writes one rule once, as CTEs a model puts
    in its own `with` list (the names are prefixed, so they cannot clash with the model's):

    - suppressed_community_days: the days of fct_community_daily and agg_feedback_daily, with
      their complementary suppression (a second hidden day in the week) and the neighbours whose
      membership figures would give a suppressed day's members away;
    - idea_votes_hidden: the ideas of fct_feedback_ideas that show no vote counts, and the
      portals whose only idea is one of them;
    - cohorts_hidden: the join-week cohorts of fct_member_retention (and the newcomers of
      fct_community_health) that show no figures;
    - quiet_core_weeks_hidden: the weeks of fct_community_quiet_core_weekly that show no
      figures (and that the core_members_quiet incidents do not look at).

    Every one is a function of whole communities' (or portals') figures of intermediate tables,
    read in full by the marts that use them, so an incremental build gets the same answer as a
    full one (fct_member_retention rebuilds the cohorts whose answer moved, see there).
-#}


{#-
    CTEs over `spine` (community_id, activity_date: every calendar day) and `activity`
    (community_id, activity_date, active_members), ending in `suppressed_days`: one row per
    calendar day with
        is_small            fewer than min_group_size active members (the primary suppression)
        is_suppressed       is_small, or hidden with a small day of its week (complementary):
                            a community-week with exactly one small day also hides the other day
                            of that week with the fewest active members (the earliest on ties),
                            so a week's total (fct_community_health, fct_brand_engagement_lift)
                            minus the days shown always leaves at least two days. A week with a
                            single calendar day (a community's first week starting on Sunday,
                            the data's last week ending on Monday) has its week hidden with the
                            day (the week's active members are the day's); that day is hidden
                            with the next calendar day (the previous one for the last day), so a
                            community's lifetime totals (the ideas' votes) keep two hidden days.
        hides_start         the day after a small day: members_at_start, members_new,
                            members_new_observed and engagement_rate are null. members_at_start
                            of day d + 1 is members_total - members_left of day d, and the start
                            of d + 1 minus the start of d is d's new members minus its leavers,
                            so a small day's start-of-next-day must not be published, nor the
                            next day's members_new (members_total - members_new is its start).
        hides_total         the day before a small Sunday, or before the last calendar day: its
                            members_total, members_new and members_new_observed are null. The
                            members at the start of a Monday are the members at the start of
                            the week, which fct_community_health (members_at_week_end of the
                            week before) and fct_brand_engagement_lift (the exposure) publish,
                            and those at the end of the last day are dim_community's
                            members_current; so for those days the start of the small day itself
                            is hidden instead (members_total - members_left of the day before).
                            Either way no members figure of a small day follows exactly, and its
                            new members do not even when every day's leavers are guessed (they
                            are rare), but for a small first day that is a Sunday, a small last
                            day that is a Monday and a community of one day, whose both starts
                            are published by the weekly marts and dim_community.
-#}
{% macro suppressed_community_days(spine, activity) -%}
suppression_days as (

    select
        spine.community_id,
        spine.activity_date,
        date_trunc('week', spine.activity_date::timestamp)::date as week_start,
        coalesce(activity.active_members, 0) as active_members,
        coalesce(activity.active_members, 0) < {{ min_group_size() }} as is_small
    from {{ spine }} as spine
    left join {{ activity }} as activity
        on spine.community_id = activity.community_id
        and spine.activity_date = activity.activity_date

),

suppression_weeks as (

    select
        *,
        count(*) filter (where is_small) over community_week as small_days_in_week,
        count(*) over community_week as days_in_week,
        -- 1: the day with the fewest active members among those that are not small
        row_number() over (
            partition by community_id, week_start
            order by is_small asc, active_members asc, activity_date asc
        ) as quietest_rank,
        max(activity_date) over (partition by community_id) as last_day
    from suppression_days
    window community_week as (partition by community_id, week_start)

),

suppression_neighbours as (

    select
        *,
        is_small and days_in_week = 1 as is_small_alone_in_week,
        coalesce(lag(is_small) over community_days, false) as follows_small_day,
        coalesce(lead(is_small) over community_days, false) as precedes_small_day,
        lead(activity_date) over community_days as next_day
    from suppression_weeks
    window community_days as (partition by community_id order by activity_date)

),

suppressed_days as (

    select
        community_id,
        activity_date,
        active_members,
        is_small,
        (
            is_small
            or (small_days_in_week = 1 and days_in_week > 1 and quietest_rank = 1)
            or coalesce(lag(is_small_alone_in_week) over community_days, false)
            or (
                coalesce(lead(is_small_alone_in_week) over community_days, false)
                and next_day = last_day
            )
        ) as is_suppressed,
        follows_small_day and extract(isodow from activity_date) <> 1 as hides_start,
        precedes_small_day
        and (extract(isodow from activity_date) = 6 or next_day = last_day) as hides_total
    from suppression_neighbours
    window community_days as (partition by community_id order by activity_date)

),
{%- endmacro %}


{#-
    CTEs over `ideas` (community_id, idea_id, voters, submitted_at), ending in
    `idea_votes_hidden`: one row per idea with
        votes_hidden        the idea had fewer than min_group_size distinct voters, or it is
                            the idea with the fewest voters among the others of a portal where
                            exactly one idea has too few (complementary: agg_feedback_daily's
                            days add up to the portal's votes, so the votes hidden must be those
                            of at least two ideas)
        portal_votes_hidden the portal's only idea has too few voters: agg_feedback_daily shows
                            none of its votes (they add up to that idea's).
-#}
{% macro idea_votes_hidden(ideas) -%}
idea_votes_ranked as (

    select
        community_id,
        idea_id,
        voters < {{ min_group_size() }} as has_few_voters,
        count(*) filter (where voters < {{ min_group_size() }}) over portal as few_voter_ideas,
        count(*) over portal as portal_ideas,
        -- 1: the idea with the fewest voters among those with enough
        row_number() over (
            partition by community_id
            order by voters < {{ min_group_size() }} asc, voters asc, submitted_at asc, idea_id asc
        ) as fewest_voters_rank
    from {{ ideas }}
    window portal as (partition by community_id)

),

idea_votes_hidden as (

    select
        community_id,
        idea_id,
        has_few_voters or (few_voter_ideas = 1 and fewest_voters_rank = 1) as votes_hidden,
        few_voter_ideas = 1 and portal_ideas = 1 as portal_votes_hidden
    from idea_votes_ranked

),
{%- endmacro %}


{#-
    CTEs over `memberships` (int_memberships_observed, or the part of it of whole communities),
    ending in `cohorts_hidden`: one row per community and join-week cohort (the week a member's
    first membership started) with its size and
        is_hidden           fewer than min_group_size members, or the cohort just before the
                            community's earliest small cohort (just after it when it is the
                            first). Every member is in one cohort, so the cohorts add up to
                            dim_community's active_members_all_time; and the cohorts up to a
                            week add up to that week's active members and members at its end in
                            fct_community_health (retained_members, still_members). With two
                            cohorts hidden from the first small one on, no such total minus the
                            cohorts shown isolates one; before the first small cohort only the
                            complementary one is hidden, and when the small cohort is the first,
                            the weeks before the next cohort have only its members, too few for
                            fct_community_health to show.
-#}
{% macro cohorts_hidden(memberships) -%}
cohort_suppression_sizes as (

    select
        community_id,
        date_trunc('week', started_on::timestamp)::date as cohort_week,
        count(*) as cohort_members
    from {{ memberships }}
    where membership_number = 1
    group by community_id, date_trunc('week', started_on::timestamp)::date

),

cohort_suppression_first_small as (

    select
        community_id,
        min(cohort_week) filter (where cohort_members < {{ min_group_size() }})
            as first_small_week
    from cohort_suppression_sizes
    group by community_id

),

cohort_suppression_complements as (

    select
        sizes.community_id,
        coalesce(
            max(sizes.cohort_week) filter (where sizes.cohort_week < first_small.first_small_week),
            min(sizes.cohort_week) filter (where sizes.cohort_week > first_small.first_small_week)
        ) as complement_week
    from cohort_suppression_sizes as sizes
    inner join cohort_suppression_first_small as first_small
        on sizes.community_id = first_small.community_id
    where first_small.first_small_week is not null
    group by sizes.community_id

),

cohorts_hidden as (

    select
        sizes.community_id,
        sizes.cohort_week,
        sizes.cohort_members,
        (
            sizes.cohort_members < {{ min_group_size() }}
            or sizes.cohort_week is not distinct from complements.complement_week
        ) as is_hidden
    from cohort_suppression_sizes as sizes
    left join cohort_suppression_complements as complements
        on sizes.community_id = complements.community_id

),
{%- endmacro %}


{#-
    CTE over `weeks` (int_community_weeks_quiet_core_counted, or the part of it a model reads),
    ending in `quiet_core_weeks_hidden`: its rows with
        is_suppressed       fewer than min_group_size members were active in the four weeks
                            before the week: the group the core is drawn from, and every core
                            and quiet core member is one of them.
    No complementary rule is needed: no published figure adds up these figures (the weeks' core
    members are different groups, not parts of a total, and no other mart counts them), and
    the average of the four weeks before (fct_community_quiet_core_weekly) and the incidents'
    baselines take only the weeks shown, so neither gives a hidden week away.
-#}
{% macro quiet_core_weeks_hidden(weeks) -%}
quiet_core_weeks_hidden as (

    select
        *,
        lookback_active_members < {{ min_group_size() }} as is_suppressed
    from {{ weeks }}

),
{%- endmacro %}
