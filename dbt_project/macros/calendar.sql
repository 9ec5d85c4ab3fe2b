{#-
  Calendar dates. DuckDB's date functions (`make_date`, `last_day`, `dayofweek`, `isodow`,
  `date_diff`) are missing or spelled differently elsewhere, so each is a dispatched macro
  (docs/warehouse-dialects.md). Arguments are SQL expressions.
-#}

{#- The DATE of integer year, month and day. -#}
{% macro date_from_parts(year, month, day) -%}
    {{ return(adapter.dispatch('date_from_parts')(year, month, day)) }}
{%- endmacro %}

{% macro duckdb__date_from_parts(year, month, day) -%}
    make_date({{ year }}, {{ month }}, {{ day }})
{%- endmacro %}


{#- The last DATE of the month of `date`. -#}
{% macro month_last_day(date) -%}
    {{ return(adapter.dispatch('month_last_day')(date)) }}
{%- endmacro %}

{% macro duckdb__month_last_day(date) -%}
    last_day({{ date }})
{%- endmacro %}


{#- Day of the week, 0 = Sunday .. 6 = Saturday. -#}
{% macro day_of_week(date) -%}
    {{ return(adapter.dispatch('day_of_week')(date)) }}
{%- endmacro %}

{% macro duckdb__day_of_week(date) -%}
    dayofweek({{ date }})
{%- endmacro %}


{#- ISO day of the week, 1 = Monday .. 7 = Sunday (a feature: its numbering is the model's). -#}
{% macro iso_day_of_week(date) -%}
    {{ return(adapter.dispatch('iso_day_of_week')(date)) }}
{%- endmacro %}

{% macro duckdb__iso_day_of_week(date) -%}
    isodow({{ date }})
{%- endmacro %}


{#- Days from DATE `start_date` to DATE `end_date` (negative when end is earlier). -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__days_between(start_date, end_date) -%}
    date_diff('day', {{ start_date }}, {{ end_date }})
{%- endmacro %}
