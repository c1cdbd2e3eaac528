{#-
    Privacy gate: a figure that counts a group of members is shown only for groups of at least
    min_group_size (nulls pass: hidden). zero_allowed: an empty group (0) may be shown, it
    reveals nobody (newcomers of a week nobody joined).
-#}
{% test group_large_enough(model, column_name, zero_allowed=false) %}

select {{ column_name }}
from {{ model }}
where
    {{ column_name }} < {{ min_group_size() }}
    {%- if zero_allowed %}
    and {{ column_name }} <> 0
    {%- endif %}

{% endtest %}
