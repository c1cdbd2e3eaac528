{{
    config(
        materialized=stateful_materialization(),
        incremental_strategy='delete+insert',
        unique_key='copy_key',
        indexes=[
            {'columns': ['copy_key']},
            {'columns': ['member_key', 'community_id', 'voted_on']},
            {'columns': ['community_id', 'idea_id']},
        ],
        post_hook=["{{ analyze_when_rebuilt() }}"]
    )
}}

with

source as (

    select * from {{ ref('base_pulse__events_arrived') }}
    where event_type = 'feedback.voted'

),

renamed as (

    select
        -- ids
        event_id,
        payload ->> 'idea_id' as idea_id,
        community_id,
        member_key,

        -- dimensions
        payload ->> 'direction' as vote_direction,
        platform,

        -- measures
        case payload ->> 'direction' when 'up' then 1 else -1 end as vote_value,

        -- timestamps
        occurred_at as voted_at,
        occurred_on as voted_on,
        occurred_week as voted_week,
        ingested_at

    from source

),

-- Every vote event is kept (last-vote-wins is decided downstream); only exact copies go.
keyed as (

    select
        *,
        md5(row(
            community_id, member_key, extract(epoch from voted_at), idea_id, vote_direction
        )::text) as copy_key
    from renamed

),

{% if is_incremental() %}

-- The copy an earlier run kept competes with the ones that arrived now.
candidates as (

    select * from keyed

    union all

    select
        kept.event_id,
        kept.idea_id,
        kept.community_id,
        kept.member_key,
        kept.vote_direction,
        kept.platform,
        kept.vote_value,
        kept.voted_at,
        kept.voted_on,
        kept.voted_week,
        kept.ingested_at,
        kept.copy_key
    from {{ this }} as kept
    where kept.copy_key in (select keyed.copy_key from keyed)

),

{% else %}

candidates as (

    select * from keyed

),

{% endif %}

deduplicated as (

    select
        *,
        row_number() over (
            partition by copy_key
            order by ingested_at, event_id
        ) as copy_number
    from candidates

),

final as (

    select
        -- ids
        event_id,
        idea_id,
        community_id,
        member_key,

        -- dimensions
        vote_direction,
        platform,

        -- measures
        vote_value,

        -- timestamps
        voted_at,
        voted_on,
        voted_week,
        ingested_at,

        -- the copy's identity (see keyed)
        copy_key

    from deduplicated
    where copy_number = 1

)

select * from final
