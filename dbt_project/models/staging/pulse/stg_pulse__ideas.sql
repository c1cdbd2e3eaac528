-- depends_on: {{ ref('base_pulse__events_retained') }}
-- depends_on: {{ ref('stg_pulse__event_deletions') }}
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='delete+insert',
        unique_key=['community_id', 'idea_id'],
        indexes=[
            {'columns': ['community_id', 'idea_id'], 'unique': true},
            {'columns': ['member_key', 'community_id', 'submitted_on']},
            {'columns': ['community_id', 'submitted_on']},
        ],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

{% if is_incremental() %}

-- As for posts: an idea whose copy arrived or went is decided again from all its copies.
reopened as (

    select
        community_id,
        entity_id
    from {{ ref('base_pulse__events_arrived') }}
    where event_type = 'feedback.submitted'

    union

    select
        community_id,
        item_id as entity_id
    from {{ ref('stg_pulse__event_deletions') }}
    where item_kind = 'idea'

),

source as (

    select retained.*
    from {{ ref('base_pulse__events_retained') }} as retained
    inner join reopened
        on retained.community_id = reopened.community_id
        and retained.entity_id = reopened.entity_id
    where retained.event_type = 'feedback.submitted'

),

{% else %}

source as (

    select * from {{ ref('base_pulse__events_arrived') }}
    where event_type = 'feedback.submitted'

),

{% endif %}

renamed as (

    select
        -- ids
        event_id,
        payload ->> 'idea_id' as idea_id,
        community_id,
        member_key,

        -- dimensions
        payload ->> 'title' as idea_title,
        payload ->> 'category' as idea_category,
        platform,

        -- measures
        sentiment,
        text_length,

        -- timestamps
        occurred_at as submitted_at,
        occurred_on as submitted_on,
        occurred_week as submitted_week,
        ingested_at

    from source

),

-- An idea is submitted once; the first submission of an idea_id wins.
deduplicated as (

    select
        *,
        row_number() over (
            partition by community_id, idea_id
            order by submitted_at, ingested_at, event_id
        ) as copy_number
    from renamed

),

final as (

    select
        -- ids
        event_id,
        idea_id,
        community_id,
        member_key,

        -- dimensions
        idea_title,
        idea_category,
        platform,

        -- measures
        sentiment,
        text_length,

        -- timestamps
        submitted_at,
        submitted_on,
        submitted_week

    from deduplicated
    where copy_number = 1

)

select * from final
