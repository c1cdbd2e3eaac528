{#-
    Incremental runs (dbt_project/README.md, "Incremental runs").

    The pipeline passes an arrival window in incremental runs:
        arrived_from, arrived_through   raw rows with arrived_from <= ingested_at < arrived_through
        deletions_from, deletions_through   raw.community_event_deletions ids in (from, through]
        base_build                      the validated build whose marts this build starts from
    and only arrived_through (and deletions_through) in a full build. Without arrived_from and
    base_build every model is a plain table, rebuilt from all of raw: `pulse transform`, a first
    run, `pulse run --full-refresh` and CI all build that way.
-#}

{#- True when the pipeline asked for an incremental build (the window and a base build). -#}
{% macro pulse_incremental() -%}
    {{ return(var('arrived_from', none) is not none and var('base_build', none) is not none) }}
{%- endmacro %}


{#-
    The materialization of a model that keeps state between runs: incremental when the run is,
    else a table rebuilt in full (so a run without the window can never append a partial
    recomputation to a table that then looks complete).
-#}
{% macro stateful_materialization() -%}
    {{ return('incremental' if pulse_incremental() else 'table') }}
{%- endmacro %}


{#- Rows of raw (or of the retained log) that arrived in the run's window. -#}
{% macro arrived_in_window(column='ingested_at') -%}
    {{ column }} >= '{{ var("arrived_from") }}'::timestamptz
    {%- if var('arrived_through', none) is not none %}
    and {{ column }} < '{{ var("arrived_through") }}'::timestamptz
    {%- endif %}
{%- endmacro %}


{#-
    Pre-hook of a model that recomputes whole keys: delete the stored rows of every key the run
    reopens, so the model's output (appended) replaces them, and a key that no longer has rows
    (an erased member's, a post whose last copy went) is simply gone. Runs in the model's
    transaction, so a run that dies leaves the old rows.
-#}
{% macro delete_reopened(reopened, columns, where=none) -%}
    {#- columns: the key's columns (the same names in both), or {stored column: reopened column} -#}
    {%- set pairs = columns.items() if columns is mapping else zip(columns, columns) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as stored
    using {{ reopened }} as reopened
    where
        {%- for stored_column, reopened_column in pairs %}
        stored.{{ stored_column }} = reopened.{{ reopened_column }}{% if not loop.last %} and{% endif %}
        {%- endfor %}
        {%- if where %}
        and {{ where }}
        {%- endif %}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#-
    Pre-hook of the day tables that hold running figures (members, WAU, MAU): delete every day
    from the community's reopen_from on, and every row outside the calendar (a community whose
    first day moved, days past the last one).
-#}
{% macro delete_reopened_days(reopened, spine) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as stored
    using {{ reopened }} as reopened
    where
        stored.community_id = reopened.community_id
        and stored.activity_date >= reopened.reopen_from;
    {{ delete_outside_spine(spine) }}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#-
    Delete the rows of a community-day table (or, with the week columns, a community-week one)
    that the calendar no longer has.
-#}
{% macro delete_outside_spine(spine, stored='activity_date', in_spine='activity_date') -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as stored
    where not exists (
        select 1
        from {{ spine }} as spine
        where
            spine.community_id = stored.community_id
            and spine.{{ in_spine }} = stored.{{ stored }}
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#-
    The same mart in the base build: an incremental build copies its rows but those of the keys
    it reopens. A relation outside dbt's graph, named by the pipeline.
-#}
{% macro base_build_relation() -%}
    {{ return(api.Relation.create(
        database=this.database, schema=var('base_build'), identifier=this.identifier
    )) }}
{%- endmacro %}


{#- A mart of the base build, by name (for models that are not that mart). -#}
{% macro base_build_mart(name) -%}
    {{ return(api.Relation.create(
        database=this.database, schema=var('base_build'), identifier=name
    )) }}
{%- endmacro %}


{#- Tables rebuilt in full are analyzed at once, so the next incremental run plans well. -#}
{% macro analyze_when_rebuilt() -%}
    {%- if not is_incremental() -%}
    analyze {{ this }}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#- The communities whose bounds a run measures again: they received events, or lost some. -#}
{% macro communities_touched() -%}
    (
        select community_id from {{ ref('base_pulse__events_arrived') }}
        union
        select community_id from {{ ref('stg_pulse__event_deletions') }}
    )
{%- endmacro %}


{#-
    Pre-hook of the week tables that hold figures over a span of weeks before the week (the
    quiet core members): delete every week from the week of the community's reopen_from on, and
    every week the calendar no longer has (a community whose first day moved, weeks past the
    last day).
-#}
{% macro delete_reopened_weeks(reopened, spine) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as stored
    using {{ reopened }} as reopened
    where
        stored.community_id = reopened.community_id
        and stored.week_start >= date_trunc('week', reopened.reopen_from::timestamp)::date;
    {{ delete_outside_spine(spine, 'week_start', 'activity_week') }}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#-
    Per community, the first ISO week a weekly model rebuilds: in an incremental run the week of
    reopen_from (int_communities_reopened) less `days_before` days (a figure of a week that
    reads the day before it, such as members at the week's start, moves from the week before);
    in a full build every community's first week of `spine` (int_community_days_spined).
-#}
{% macro community_reopen_weeks(spine, incremental, days_before=0) -%}
    {%- if incremental %}
    select
        community_id,
        date_trunc('week', (reopen_from - {{ days_before }})::timestamp)::date as reopen_week
    from {{ ref('int_communities_reopened') }}
    {%- else %}
    select
        community_id,
        min(activity_week) as reopen_week
    from {{ spine }}
    group by community_id
    {%- endif %}
{%- endmacro %}
