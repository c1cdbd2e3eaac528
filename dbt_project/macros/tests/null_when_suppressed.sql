{#-
    Privacy gate: a suppressed row must not show any member-derived figure. Applied to the model,
    with the list of columns that must be null whenever is_suppressed is true.
-#}
{% test null_when_suppressed(model, columns, flag='is_suppressed') %}

select *
from {{ model }}
where {{ flag }}
    and (
        {%- for column in columns %}
        {{ column }} is not null{% if not loop.last %} or{% endif %}
        {%- endfor %}
    )

{% endtest %}
