{#-
    Custom schemas are used as named (staging, intermediate, the marts schema), never prefixed
    with the target schema: the pipeline and BI views address them by these exact names.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
