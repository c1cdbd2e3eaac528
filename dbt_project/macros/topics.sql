{#-
    The topic marts (models/marts/topics/_topics__models.yml states the rules): what both
    fct_community_topics_weekly and fct_brand_topics_weekly are built from, and the rising rule,
    each written once. The rule's knobs are the dbt vars topic_rising_min_posts and
    topic_rising_min_change (dbt_project.yml: the PULSE_TOPIC_RISING_* settings).
-#}


{#-
    CTEs a topic mart puts in its own `with` list, ending in
    - topic_community_weeks: every calendar week of every community that has a brand, with
      is_shown (fct_community_health shows the week: enough active members), is_whole (all
      seven days are in the community's calendar: not its first week, unless that began on a
      Monday) and the posts of the week (all of them, tagged or not);
    - topic_tag_weeks: one row per community, shown week and tag, with the week's is_whole, the
      posts carrying the tag and the engagement those posts received (at any time: it counts in
      the post's week).
    A week fct_community_health suppresses has no tag rows, so no topic figure is of a small
    group, and every figure the marts derive (history, brand totals) is a sum of rows shown.
    The weeks a mean is taken over are whole ones: a community's first days are a part of a
    week, and against them every tag of its first whole week would look like it is rising.
-#}
{% macro topic_weeks() -%}
topic_communities as (

    select
        community_id,
        brand_id
    from {{ ref('stg_pulse__communities') }}
    where brand_id is not null

),

topic_calendar_weeks as (

    select
        community_id,
        activity_week as week_start,
        count(*) as days
    from {{ ref('int_community_days_spined') }}
    group by community_id, activity_week

),

topic_week_posts as (

    select
        community_id,
        date_trunc('week', activity_date::timestamp)::date as week_start,
        sum(posts) as posts
    from {{ ref('int_community_days_content_aggregated') }}
    group by community_id, date_trunc('week', activity_date::timestamp)::date

),

topic_community_weeks as (

    select
        health.community_id,
        topic_communities.brand_id,
        health.week_start,
        not health.is_suppressed as is_shown,
        coalesce(topic_calendar_weeks.days, 0) = 7 as is_whole,
        coalesce(topic_week_posts.posts, 0) as posts
    from {{ ref('fct_community_health') }} as health
    inner join topic_communities
        on health.community_id = topic_communities.community_id
    left join topic_calendar_weeks
        on health.community_id = topic_calendar_weeks.community_id
        and health.week_start = topic_calendar_weeks.week_start
    left join topic_week_posts
        on health.community_id = topic_week_posts.community_id
        and health.week_start = topic_week_posts.week_start

),

topic_tag_weeks as (

    select
        post_tags.community_id,
        topic_community_weeks.brand_id,
        post_tags.created_week as week_start,
        post_tags.tag,
        topic_community_weeks.is_whole,
        count(*) as posts,
        sum(post_tags.engagements) as engagements
    from {{ ref('int_post_tags_unnested') }} as post_tags
    inner join topic_community_weeks
        on post_tags.community_id = topic_community_weeks.community_id
        and post_tags.created_week = topic_community_weeks.week_start
    where topic_community_weeks.is_shown
    group by
        post_tags.community_id,
        topic_community_weeks.brand_id,
        post_tags.created_week,
        post_tags.tag,
        topic_community_weeks.is_whole

),
{%- endmacro %}


{#-
    The window frame of the four ISO weeks before a row's week (weeks are Mondays, so a range of
    dates: weeks missing from the rows count as nothing).
-#}
{% macro previous_4_weeks(partition_by) -%}
    partition by {{ partition_by }}
    order by week_start
    range between interval '28 days' preceding and interval '7 days' preceding
{%- endmacro %}


{#-
    The trend columns from a row's `posts`, the posts carrying its tag in the weeks of its mean
    (`history_posts`, null or 0 when none did) and how many of the four weeks before are weeks
    of the mean, whole and shown (`history_weeks`): the mean, the change against it and
    is_rising.
-#}
{% macro topic_trend_columns(posts, history_posts, history_weeks) -%}
    {%- set min_posts = incident_var('topic_rising_min_posts', 1, none, true) -%}
    {%- set min_change = incident_var('topic_rising_min_change', 0) -%}
    {%- set history = 'coalesce(' ~ history_posts ~ ', 0)' -%}
    {{ ratio(history, history_weeks, 4) }}::numeric(14, 4) as posts_previous_4_weeks_avg,
    -- From the counts, not from the rounded mean.
    (case
        when {{ history }} > 0 then {{ ratio(posts ~ ' * ' ~ history_weeks, history, 4) }} - 1
    end)::numeric(14, 4) as posts_change,
    -- On the change as published, so a reader can check it; a tag new to weeks that were shown
    -- (mean 0) rises on its count alone, a week with no week shown before it never does.
    (
        {{ posts }} >= {{ min_posts }}
        and {{ history_weeks }} > 0
        and (
            {{ history }} = 0
            or round(({{ posts }} * {{ history_weeks }})::numeric / {{ history }}, 4) - 1
            >= {{ min_change }}
        )
    )::boolean as is_rising
{%- endmacro %}
