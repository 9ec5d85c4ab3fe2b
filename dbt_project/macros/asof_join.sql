{#-
  `asof left join`: for each left row, the right row with the greatest `right_time` at or before
  `left_time` among those with the same `key_columns` (none: the whole relation); NULLs when
  there is none. DuckDB spells it natively. Another warehouse adds `<adapter>__asof_left_join`
  here (Snowflake: ASOF JOIN ... MATCH_CONDITION; elsewhere a lateral top-1 subquery) and the
  models stay as they are. No `default__`: on an adapter without one, dbt stops at compile
  time naming the macro (docs/warehouse-dialects.md).
-#}
{% macro asof_left_join(relation, alias, left_alias, key_columns, left_time, right_time) -%}
    {{ return(adapter.dispatch('asof_left_join')(relation, alias, left_alias, key_columns, left_time, right_time)) }}
{%- endmacro %}

{% macro duckdb__asof_left_join(relation, alias, left_alias, key_columns, left_time, right_time) -%}
asof left join {{ relation }} as {{ alias }}
        on {% for k in key_columns %}{{ left_alias }}.{{ k }} = {{ alias }}.{{ k }} and {% endfor -%}
        {{ left_time }} >= {{ alias }}.{{ right_time }}
{%- endmacro %}
