-- depends_on: {{ ref('base_pulse__events_retained') }}
-- depends_on: {{ ref('stg_pulse__event_deletions') }}
{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='delete+insert',
        unique_key=['community_id', 'post_id'],
        indexes=[
            {'columns': ['community_id', 'post_id'], 'unique': true},
            {'columns': ['member_key', 'community_id', 'created_on']},
            {'columns': ['community_id', 'created_on']},
        ],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

{% if is_incremental() %}

-- Which copy of a post wins can change when a copy arrives (one created earlier) or goes (its
-- member was erased): those posts are decided again from every copy in the retained log.
reopened as (

    select
        community_id,
        entity_id
    from {{ ref('base_pulse__events_arrived') }}
    where event_type = 'post.created'

    union

    select
        community_id,
        item_id as entity_id
    from {{ ref('stg_pulse__event_deletions') }}
    where item_kind = 'post'

),

source as (

    select retained.*
    from {{ ref('base_pulse__events_retained') }} as retained
    inner join reopened
        on retained.community_id = reopened.community_id
        and retained.entity_id = reopened.entity_id
    where retained.event_type = 'post.created'

),

{% else %}

source as (

    select * from {{ ref('base_pulse__events_arrived') }}
    where event_type = 'post.created'

),

{% endif %}

renamed as (

    select
        -- ids
        event_id,
        payload ->> 'post_id' as post_id,
        community_id,
        member_key,

        -- dimensions
        payload ->> 'author_role' as author_role,
        -- The brand's voice is the brand account and the moderators it appoints.
        (payload ->> 'author_role') in ('brand', 'moderator') as is_brand_voice,
        payload ->> 'content_type' as content_type,
        platform,

        -- measures
        -- tags is optional and may arrive as JSON null.
        case jsonb_typeof(payload -> 'tags')
            when 'array' then jsonb_array_length(payload -> 'tags')
            else 0
        end as tag_count,
        -- A tag is what producers send in lower case, without the white space around it and a
        -- leading '#': ' #PlantCare' and 'plantcare' are one tag. Each tag once per post, in
        -- order; a tag that is nothing else is dropped. A JSON array, not a text[]: dbt's unit
        -- test fixtures cannot type an array column, and every test of a reader would break.
        case jsonb_typeof(payload -> 'tags')
            when 'array'
                then to_jsonb(array(
                    select distinct normalised.tag
                    from jsonb_array_elements_text(source.payload -> 'tags') as sent (tag)
                    cross join
                        lateral (
                            select
                                btrim(
                                    ltrim(lower(btrim(sent.tag, E' \t\n\r')), '#'), E' \t\n\r'
                                ) as tag
                        ) as normalised
                    where normalised.tag <> ''
                    order by normalised.tag
                ))
            else '[]'::jsonb
        end as tags,
        sentiment,
        text_length,

        -- timestamps
        occurred_at as created_at,
        occurred_on as created_on,
        occurred_week as created_week,
        ingested_at

    from source

),

-- A post exists once: a second post.created for the same post_id (a retry under a new event_id,
-- or an edit replayed as a create) does not make it two posts. The first one wins.
deduplicated as (

    select
        *,
        row_number() over (
            partition by community_id, post_id
            order by created_at, ingested_at, event_id
        ) as copy_number
    from renamed

),

final as (

    select
        -- ids
        event_id,
        post_id,
        community_id,
        member_key,

        -- dimensions
        author_role,
        is_brand_voice,
        content_type,
        platform,

        -- measures
        tag_count,
        tags,
        sentiment,
        text_length,

        -- timestamps
        created_at,
        created_on,
        created_week

    from deduplicated
    where copy_number = 1

)

select * from final
