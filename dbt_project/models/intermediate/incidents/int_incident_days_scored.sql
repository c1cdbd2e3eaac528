-- One row per community, UTC day and day rule of the incidents (fct_alert_incidents; the rule is
-- stated in models/marts/incidents/_incidents__models.yml): what the rule counts over the window
-- ending that day and over the baseline days before the window; and one row per community, ISO
-- week and week rule (core_members_quiet), the week being its own window. Rebuilt in full on
-- every run from the daily and weekly tables, which are incremental: it is communities x days
-- x 3 rows plus communities x weeks, small whatever raw holds, and a full rebuild keeps it
-- equal to a full refresh by construction.
{{
    config(
        indexes=[{'columns': ['community_id', 'alert_type', 'day_number'], 'unique': true}],
        post_hook=["analyze {{ this }}"]
    )
}}

{%- set window_days = incident_var('incident_window_days', 1, 30, integer=true) %}
{%- set baseline_days = incident_var('incident_baseline_days', 1, 365, integer=true) %}
{%- set min_baseline_days = incident_var(
    'incident_min_baseline_days', 1, baseline_days, integer=true
) %}
{#- The week rule's baseline: the four weeks before (fct_community_quiet_core_weekly's average),
    at least two of them shown. -#}
{%- set baseline_weeks = 4 %}
{%- set min_baseline_weeks = 2 %}

with

spine as (

    select * from {{ ref('int_community_days_spined') }}

),

activity as (

    select * from {{ ref('int_community_days_activity_counted') }}

),

content as (

    select * from {{ ref('int_community_days_content_aggregated') }}

),

quiet_core_weeks as (

    select * from {{ ref('int_community_weeks_quiet_core_counted') }}

),

-- The days fct_community_daily hides (too few active members, or hidden with such a day:
-- macros/suppression.sql) are the days the rule may not look at either.
{{ suppressed_community_days('spine', 'activity') }}

-- And the weeks fct_community_quiet_core_weekly hides.
{{ quiet_core_weeks_hidden('quiet_core_weeks') }}

-- The last day with data anywhere may still be in progress: the days before it are complete.
data_bounds as (

    select max(activity_date) as last_day
    from spine

),

days as (

    select
        spine.community_id,
        spine.activity_date,
        data_bounds.last_day,
        suppressed_days.is_suppressed,
        coalesce(content.negative_items, 0) as negative_items,
        coalesce(content.scored_items, 0) as scored_items,
        coalesce(content.posts, 0) as posts,
        coalesce(content.brand_posts, 0) as brand_posts,
        coalesce(content.engagements, 0) as engagements
    from spine
    cross join data_bounds
    inner join suppressed_days
        on spine.community_id = suppressed_days.community_id
        and spine.activity_date = suppressed_days.activity_date
    left join content
        on spine.community_id = content.community_id
        and spine.activity_date = content.activity_date

),

-- What each day rule counts (events) out of what (exposure), and whether it may judge the day:
-- sentiment and brand voice judge complete days; an engagement drop judges a day once the next
-- one is complete too (a post keeps collecting engagement after its day).
rule_days as (

    select
        community_id,
        activity_date,
        is_suppressed,
        'negative_sentiment_spike' as alert_type,
        negative_items as events,
        scored_items as exposure,
        activity_date < last_day as is_complete
    from days

    union all

    select
        community_id,
        activity_date,
        is_suppressed,
        'brand_voice_too_high' as alert_type,
        brand_posts as events,
        posts as exposure,
        activity_date < last_day as is_complete
    from days

    union all

    select
        community_id,
        activity_date,
        is_suppressed,
        'engagement_drop' as alert_type,
        engagements as events,
        posts as exposure,
        activity_date < last_day - 1 as is_complete
    from days

),

-- A suppressed day's figures are not shown: it counts in no window and no baseline.
shown as (

    select
        *,
        case when is_suppressed then 0 else events end as shown_events,
        case when is_suppressed then 0 else exposure end as shown_exposure
    from rule_days

),

-- The calendar has every day of a community, so a frame of rows is a frame of days.
windowed as (

    select
        community_id,
        alert_type,
        activity_date,
        is_suppressed,
        is_complete,
        row_number() over by_day as day_number,
        sum(shown_events) over window_frame as window_events,
        sum(shown_exposure) over window_frame as window_exposure,
        sum(shown_events) over baseline_frame as baseline_events,
        sum(shown_exposure) over baseline_frame as baseline_exposure,
        count(*) filter (where not is_suppressed) over baseline_frame as baseline_days
    from shown
    window
        by_day as (partition by community_id, alert_type order by activity_date),
        window_frame as (by_day rows between {{ window_days - 1 }} preceding and current row),
        baseline_frame as (
            by_day rows between {{ window_days + baseline_days - 1 }} preceding
            and {{ window_days }} preceding
        )

),

scored_days as (

    select
        community_id,
        alert_type,
        day_number,
        1 as period_days,
        not is_suppressed and is_complete and window_exposure > 0 as is_observable,
        coalesce(baseline_days, 0) >= {{ min_baseline_days }}
        and coalesce(baseline_exposure, 0) > 0 as has_baseline,
        window_events,
        window_exposure,
        baseline_events,
        baseline_exposure,
        activity_date
    from windowed

),

-- core_members_quiet: quiet core members out of core members. A week's figures are as of its
-- Sunday, so the rule judges a week once its Sunday is complete; the week is the window (weeks
-- do not overlap), the weeks before it the baseline.
rule_weeks as (

    select
        quiet_core_weeks_hidden.community_id,
        quiet_core_weeks_hidden.week_start as activity_date,
        quiet_core_weeks_hidden.is_suppressed,
        'core_members_quiet' as alert_type,
        quiet_core_weeks_hidden.quiet_core_members as events,
        quiet_core_weeks_hidden.core_members as exposure,
        quiet_core_weeks_hidden.week_start + 6 < data_bounds.last_day as is_complete
    from quiet_core_weeks_hidden
    cross join data_bounds

),

-- A suppressed week's figures are not shown: it is never judged and counts in no baseline. The
-- calendar has every week of a community, so a frame of rows is a frame of weeks.
windowed_weeks as (

    select
        community_id,
        alert_type,
        activity_date,
        is_suppressed,
        is_complete,
        case when is_suppressed then 0 else events end as window_events,
        case when is_suppressed then 0 else exposure end as window_exposure,
        row_number() over by_week as day_number,
        sum(case when is_suppressed then 0 else events end) over baseline_frame
            as baseline_events,
        sum(case when is_suppressed then 0 else exposure end) over baseline_frame
            as baseline_exposure,
        count(*) filter (where not is_suppressed) over baseline_frame as baseline_weeks
    from rule_weeks
    window
        by_week as (partition by community_id, alert_type order by activity_date),
        baseline_frame as (by_week rows between {{ baseline_weeks }} preceding and 1 preceding)

),

scored_weeks as (

    select
        community_id,
        alert_type,
        day_number,
        7 as period_days,
        not is_suppressed and is_complete and window_exposure > 0 as is_observable,
        coalesce(baseline_weeks, 0) >= {{ min_baseline_weeks }}
        and coalesce(baseline_exposure, 0) > 0 as has_baseline,
        window_events,
        window_exposure,
        baseline_events,
        baseline_exposure,
        activity_date
    from windowed_weeks

),

scored as (

    select * from scored_days
    union all
    select * from scored_weeks

),

final as (

    select
        -- ids
        community_id,
        alert_type,
        day_number,

        -- dimensions
        -- The days one row covers: 1 for the day rules, 7 for the week rule.
        period_days::integer as period_days,
        is_observable,
        has_baseline,

        -- measures
        window_events::bigint as window_events,
        window_exposure::bigint as window_exposure,
        coalesce(baseline_events, 0)::bigint as baseline_events,
        coalesce(baseline_exposure, 0)::bigint as baseline_exposure,

        -- timestamps
        activity_date

    from scored

)

select * from final
