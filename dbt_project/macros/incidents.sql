{#-
    The incident rule's knobs and tests (models/marts/incidents/_incidents__models.yml states the
    rule; fct_alert_incidents and its two intermediate models apply it). The knobs are dbt vars
    that default to the PULSE_INCIDENT_* / PULSE_ALERT_* settings (dbt_project.yml).
-#}

{#- A var as a number, refusing what the rule cannot use. -#}
{% macro incident_var(name, minimum=none, maximum=none, integer=false) -%}
    {%- set raw = var(name) -%}
    {%- set value = (raw | int) if integer else (raw | float) -%}
    {%- if (minimum is not none and value < minimum) or (maximum is not none and value > maximum) -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " = " ~ raw ~ " is outside [" ~ minimum ~ ", " ~ maximum ~ "]"
        ) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{#-
    How many days after an incident's last held day a judged row may still belong to it: the
    resolve-after days for the day rules (period_days 1), rounded up to whole weeks for the week
    rule (period_days 7, one week at the default 3 days). An SQL expression of the row's
    period_days.
-#}
{% macro incident_resolve_span(period_days, resolve_after) -%}
    ({{ period_days }} * ceil({{ resolve_after }}::numeric / {{ period_days }}))::integer
{%- endmacro %}


{#-
    The one-sided normal quantile of the significance level alpha (0 < alpha < 0.5): z with
    P(Z > z) = alpha, e.g. 3.0902 for 0.001, 2.3263 for 0.01. Acklam's rational approximation
    (relative error below 1.2e-9), written as SQL because Jinja has no logarithm; a constant
    expression, so PostgreSQL evaluates it once.
-#}
{% macro normal_upper_quantile(alpha) -%}
    {%- set p = alpha | float -%}
    {%- if p <= 0 or p >= 0.5 -%}
        {{ exceptions.raise_compiler_error("a significance level must be in (0, 0.5), not " ~ p) }}
    {%- endif -%}
    {%- if p < 0.02425 -%}
    {%- set q = 'sqrt(-2 * ln(' ~ p ~ '::double precision))' -%}
    -(
        (((((-7.784894002430293e-03 * {{ q }} - 3.223964580411365e-01) * {{ q }}
        - 2.400758277161838e+00) * {{ q }} - 2.549732539343734e+00) * {{ q }}
        + 4.374664141464968e+00) * {{ q }} + 2.938163982698783e+00)
        / ((((7.784695709041462e-03 * {{ q }} + 3.224671290700398e-01) * {{ q }}
        + 2.445134137963949e+00) * {{ q }} + 3.754408661907416e+00) * {{ q }} + 1)
    )
    {%- else -%}
    {%- set q = '(' ~ p ~ '::double precision - 0.5)' -%}
    {%- set r = '(' ~ q ~ ' * ' ~ q ~ ')' -%}
    -(
        (((((-3.969683028665376e+01 * {{ r }} + 2.209460984245205e+02) * {{ r }}
        - 2.759285104469687e+02) * {{ r }} + 1.383577518672690e+02) * {{ r }}
        - 3.066479806614716e+01) * {{ r }} + 2.506628277459239e+00) * {{ q }}
        / (((((-5.447609879822406e+01 * {{ r }} + 1.615858368580409e+02) * {{ r }}
        - 1.556989798598866e+02) * {{ r }} + 6.680131188771972e+01) * {{ r }}
        - 1.328068155288572e+01) * {{ r }} + 1)
    )
    {%- endif -%}
{%- endmacro %}


{#-
    Lower bound of the difference of two proportions p1 - p0 (k1 of n1 against k0 of n0):
    Newcombe's hybrid score interval, from the Wilson bound of each side,
        p1 - p0 - sqrt((p1 - lower(p1))^2 + (upper(p0) - p0)^2),
    so that the uncertainty of a small baseline counts as much as the day's. Positive: p1 is
    above p0 at the level of z. Null when a side has no trials.
-#}
{% macro share_rise_lower_bound(k1, n1, k0, n0, z) -%}
    {%- set p1 = '((' ~ k1 ~ ')::double precision / nullif(' ~ n1 ~ ', 0))' -%}
    {%- set p0 = '((' ~ k0 ~ ')::double precision / nullif(' ~ n0 ~ ', 0))' -%}
    ({{ p1 }} - {{ p0 }} - sqrt(
        ({{ p1 }} - {{ wilson_bound(k1, n1, 'lower', none, z) }})^2
        + ({{ wilson_bound(k0, n0, 'upper', none, z) }} - {{ p0 }})^2
    ))
{%- endmacro %}


{#-
    Upper bound of the ratio of two Poisson rates (k1 / E1) / (k0 / E0), by the conditional
    binomial method (as poisson_ratio_bound): given k1 + k0 events, k1 is binomial with
    p = E1 R / (E1 R + E0); the Wilson upper bound of p maps to R = p / (1 - p) x E0 / E1.
    Below 1: the rate fell, at the level of z. Null without events or exposure on a side;
    infinity (a double) when the bound of p is 1.
-#}
{% macro rate_ratio_upper_bound(k1, e1, k0, e0, z) -%}
    {%- set p = wilson_bound(k1, '(' ~ k1 ~ ') + (' ~ k0 ~ ')', 'upper', none, z) -%}
    case when ({{ e1 }}) > 0 and ({{ e0 }}) > 0 and ({{ k0 }}) > 0 then
        case when {{ p }} < 1
            then {{ p }} / (1 - {{ p }}) * ({{ e0 }})::double precision / ({{ e1 }})
            else 'infinity'::double precision
        end
    end
{%- endmacro %}
