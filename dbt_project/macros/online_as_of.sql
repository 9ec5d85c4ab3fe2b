{#-
  The instant the online views are read for: the session variable `online_as_of`, which the
  online_store asset sets before it reads them (mlops_assets/assets/serving.py, `SET VARIABLE`),
  so a replayed month sees only what was known then; unset, no limit. Session variables are a
  DuckDB feature: a port sets its own kind (and changes that asset with it).
-#}
{% macro online_as_of() -%}
    {{ return(adapter.dispatch('online_as_of')()) }}
{%- endmacro %}

{% macro duckdb__online_as_of() -%}
    coalesce(getvariable('online_as_of'), timestamp '9999-12-31')
{%- endmacro %}
