{#-
    Right to erasure: no member_key of a member.erased event may appear in this column, whenever
    the erasure arrived. The failing rows name no key, so stored failures cannot leak one either.
-#}
{% test no_erased_member_keys(model, column_name) %}

select 1 as erased_member_key_found
from {{ model }}
where {{ column_name }} in (
    select member_key
    from {{ source('pulse', 'community_events') }}
    where event_type = 'member.erased'
)

{% endtest %}
