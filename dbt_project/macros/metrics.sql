{#-
    Shared arithmetic of the marts, kept in one place so every rate is rounded, guarded and
    interval-bounded the same way.
-#}

{#- Smallest number of active members a community-period needs before its figures are shown. -#}
{% macro min_group_size() -%}
    {{ return(var('min_group_size') | int) }}
{%- endmacro %}


{#- numerator / denominator as numeric, null (not an error) when the denominator is 0 or null. -#}
{% macro ratio(numerator, denominator, scale=6) -%}
    round(({{ numerator }})::numeric / nullif(({{ denominator }})::numeric, 0), {{ scale }})
{%- endmacro %}


{#-
    Wilson score interval for k successes in n trials (z = 1.96: 95%). Unlike p ± z·se it stays
    inside [0, 1] and behaves for small n and for k = 0 or k = n, which is exactly the small-group
    case. Null when n = 0. k is capped at n: a rate above 1 (several engagements per member and
    post) is reported as is, and its interval is then the one of a rate of 1.
-#}
{% macro wilson_bound(successes, trials, bound='lower', z=1.96, scale=6) -%}
    {%- set sign = '-' if bound == 'lower' else '+' -%}
    {%- set n = '(' ~ trials ~ ')::double precision' -%}
    {%- set p = '(least(' ~ successes ~ ', ' ~ trials ~ ')::double precision / ' ~ n ~ ')' -%}
    case when ({{ trials }}) > 0 then round((
        (
            {{ p }} + {{ z }}^2 / (2 * {{ n }})
            {{ sign }} {{ z }} * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z }}^2 / (4 * {{ n }}^2))
        ) / (1 + {{ z }}^2 / {{ n }})
    )::numeric, {{ scale }}) end
{%- endmacro %}


{#- A figure shown only when its community-period is not suppressed. -#}
{% macro unless_suppressed(expression, suppressed='is_suppressed') -%}
    case when not {{ suppressed }} then {{ expression }} end
{%- endmacro %}
