{#-
    A mart's rows with the brand of their community: the brand its latest community.upserted
    names, as it is now (a community that changed brands shows under its new one, every period
    of it), or null while no community.upserted has arrived for it. Every mart row carries
    brand_id: the marts views filter rows by it for per-brand roles (pulse/publishing/promote.py),
    and a null brand is seen by the all-brand role (pulse_bi) only.

    It is joined last, onto the finished rows, so incremental marts never keep a stale brand
    from their base build.
-#}
{% macro with_brand(rows) -%}
select
    {{ rows }}.*,
    communities.brand_id::text as brand_id
from {{ rows }}
left join {{ ref('stg_pulse__communities') }} as communities
    on {{ rows }}.community_id = communities.community_id
{%- endmacro %}
