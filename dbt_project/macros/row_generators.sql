{#-
  Rows from nothing: a select of one column, one row per value. DuckDB generates them with
  `range` and `generate_series`; other warehouses have their own generators (or a recursive
  CTE), so each is a dispatched macro (docs/warehouse-dialects.md).
-#}

{#- One row per integer `first` .. `last` (both included; Jinja integers), column `column`. -#}
{% macro integer_rows(first, last, column) -%}
    {{ return(adapter.dispatch('integer_rows')(first, last, column)) }}
{%- endmacro %}

{% macro duckdb__integer_rows(first, last, column) -%}
    select unnest(range({{ first }}, {{ last }} + 1)) as {{ column }}
{%- endmacro %}


{#- One row per day `first_date` .. `last_date` (DATE expressions, both included), a DATE
    column `column`. -#}
{% macro date_rows(first_date, last_date, column) -%}
    {{ return(adapter.dispatch('date_rows')(first_date, last_date, column)) }}
{%- endmacro %}

{% macro duckdb__date_rows(first_date, last_date, column) -%}
    select cast(day as date) as {{ column }}
    from generate_series({{ first_date }}, {{ last_date }}, interval 1 day) as spine(day)
{%- endmacro %}
