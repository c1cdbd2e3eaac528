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


{#- The 97.5% quantile of the standard normal: two-sided 95% intervals. -#}
{% macro z_95() -%}
    1.959963984540054
{%- endmacro %}


{#-
    Wilson score interval of a proportion: k successes out of n trials, k <= n. Unlike p +- z*se
    it stays inside [0, 1] and behaves for small n and for k = 0 or k = n, which is exactly the
    small-group case. Null when n = 0 (so is the proportion). scale=none: unrounded double.
    z: the normal quantile (default z_95(), a two-sided 95% interval).
-#}
{% macro wilson_bound(successes, trials, bound='lower', scale=6, z=none) -%}
    {%- set sign = '-' if bound == 'lower' else '+' -%}
    {%- set z = z_95() if z is none else z -%}
    {%- set n = '(' ~ trials ~ ')::double precision' -%}
    {%- set p = '((' ~ successes ~ ')::double precision / ' ~ n ~ ')' -%}
    {%- set bound_value -%}
        greatest(0, least(1,
            (
                {{ p }} + {{ z }}^2 / (2 * {{ n }})
                {{ sign }} {{ z }} * sqrt(greatest(0,
                    {{ p }} * (1 - {{ p }}) / {{ n }} + {{ z }}^2 / (4 * {{ n }}^2)
                ))
            ) / (1 + {{ z }}^2 / {{ n }})
        ))
    {%- endset -%}
    case when ({{ trials }}) > 0 then
        {%- if scale is none %} {{ bound_value }}
        {%- else %} round(({{ bound_value }})::numeric, {{ scale }})
        {%- endif %}
    end
{%- endmacro %}


{#-
    Score interval of a Poisson rate: k events over an exposure E (member-post opportunities).
    Engagements are counts (a member may engage many times per post), so the rate k / E can
    exceed 1 and a proportion's interval does not fit. The bounds are the two roots in mu of
    the score equation (k - mu)^2 = z^2 mu, divided by E:
        (k + z^2/2 -+ z sqrt(k + z^2/4)) / E.
    Closed form, always around k / E, 0 below when k = 0. Null when E = 0 (so is the rate).
-#}
{% macro poisson_rate_bound(events, exposure, bound='lower', scale=6) -%}
    {%- set sign = '-' if bound == 'lower' else '+' -%}
    {%- set z = z_95() -%}
    {%- set k = '(' ~ events ~ ')::double precision' -%}
    case when ({{ exposure }}) > 0 then round(greatest(0,
        ({{ k }} + {{ z }}^2 / 2 {{ sign }} {{ z }} * sqrt({{ k }} + {{ z }}^2 / 4))
        / ({{ exposure }})::double precision
    )::numeric, {{ scale }}) end
{%- endmacro %}


{#-
    Interval of a ratio of two Poisson rates (k1 / E1) / (k2 / E2), by the conditional binomial
    method: given n = k1 + k2 events in all, k1 is binomial with p = E1 R / (E1 R + E2), R the
    ratio. A Wilson interval for p maps to R = p / (1 - p) * E2 / E1, which increases with p, so
    the interval always holds the estimate; k1 = 0 gives 0 below. Null when the ratio is: no
    events on the second side (k2 = 0) or no exposure on either side.
-#}
{% macro poisson_ratio_bound(events_1, exposure_1, events_2, exposure_2, bound='lower', scale=4) -%}
    {%- set p = wilson_bound(events_1, '(' ~ events_1 ~ ') + (' ~ events_2 ~ ')', bound, none) -%}
    case when ({{ events_2 }}) > 0 and ({{ exposure_1 }}) > 0 and ({{ exposure_2 }}) > 0
        and {{ p }} < 1
    then round((
        ({{ p }})::double precision / (1 - ({{ p }})::double precision)
        * ({{ exposure_2 }})::double precision / ({{ exposure_1 }})::double precision
    )::numeric, {{ scale }}) end
{%- endmacro %}


{#- A figure shown only when its community-period is not suppressed. -#}
{% macro unless_suppressed(expression, suppressed='is_suppressed') -%}
    case when not {{ suppressed }} then {{ expression }} end
{%- endmacro %}
