-- One row per community, rebuilt in full on every run: it reads the communities, their bounds and
-- their memberships (one row per member), never the events, so it costs what the communities
-- and their members are, not what the history is.

with

community_bounds as (

    select * from {{ ref('int_community_bounds') }}

),

communities as (

    select * from {{ ref('stg_pulse__communities') }}

),

memberships as (

    select * from {{ ref('int_memberships_observed') }}

),

current_members as (

    select
        community_id,
        count(*) filter (where ended_on is null) as members_current
    from memberships
    group by community_id

),

-- Ever active = ever a member: a membership starts on the first join or action (observed
-- membership), and every join or action is activity, so the members with a membership are
-- exactly the members with an active day.
all_time_active as (

    select
        community_id,
        count(distinct member_key) as active_members_all_time
    from memberships
    group by community_id

),

measured as (

    select
        community_bounds.community_id,
        communities.community_name,
        communities.community_kind,
        communities.brand_id,
        communities.community_topic,
        communities.community_visibility,
        communities.platform,
        communities.audience_size,
        communities.audience_size_reported_at,
        coalesce(all_time_active.active_members_all_time, 0) < {{ min_group_size() }}
            as is_suppressed,
        coalesce(current_members.members_current, 0) as members_current,
        coalesce(all_time_active.active_members_all_time, 0) as active_members_all_time,
        community_bounds.first_event_on,
        communities.upserted_at
    from community_bounds
    left join communities
        on community_bounds.community_id = communities.community_id
    left join current_members
        on community_bounds.community_id = current_members.community_id
    left join all_time_active
        on community_bounds.community_id = all_time_active.community_id

),

final as (

    select
        -- ids
        community_id::text as community_id,
        brand_id::text as brand_id,

        -- dimensions
        community_name::text as community_name,
        community_kind::text as community_kind,
        community_topic::text as community_topic,
        community_visibility::text as community_visibility,
        platform::text as platform,
        is_suppressed::boolean as is_suppressed,

        -- measures (null when fewer members than the minimum group size were ever active)
        {{ unless_suppressed('members_current') }}::integer as members_current,
        {{ unless_suppressed('active_members_all_time') }}::integer as active_members_all_time,
        -- The platform's own count, as the community reported it: not member-derived.
        audience_size::bigint as audience_size,

        -- timestamps
        first_event_on::date as first_event_on,
        upserted_at::timestamptz as upserted_at,
        audience_size_reported_at::timestamptz as audience_size_reported_at

    from measured

)

select * from final
