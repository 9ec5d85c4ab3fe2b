{#-
  Time zones. Every instant in the models is a naive timestamp in UTC; these convert to and
  from wall-clock time in an IANA zone (`tz`: a column or a quoted literal). DuckDB's
  `timezone(zone, ts)` turns a naive timestamp into a TIMESTAMPTZ read in that zone and a
  TIMESTAMPTZ into that zone's naive wall clock; other warehouses spell it differently
  (docs/warehouse-dialects.md), so each is a dispatched macro.
-#}

{#- A naive local wall-clock timestamp in zone `tz` as a naive UTC timestamp. -#}
{% macro local_to_utc(local_ts, tz) -%}
    {{ return(adapter.dispatch('local_to_utc')(local_ts, tz)) }}
{%- endmacro %}

{% macro duckdb__local_to_utc(local_ts, tz) -%}
    timezone('UTC', timezone({{ tz }}, {{ local_ts }}))
{%- endmacro %}


{#- A naive UTC timestamp as the naive wall-clock timestamp in zone `tz`. -#}
{% macro utc_to_local(utc_ts, tz) -%}
    {{ return(adapter.dispatch('utc_to_local')(utc_ts, tz)) }}
{%- endmacro %}

{% macro duckdb__utc_to_local(utc_ts, tz) -%}
    timezone({{ tz }}, timezone('UTC', {{ utc_ts }}))
{%- endmacro %}


{#- A TIMESTAMPTZ (the raw `time_hour` columns) as a naive UTC timestamp. -#}
{% macro instant_to_utc(ts) -%}
    {{ return(adapter.dispatch('instant_to_utc')(ts)) }}
{%- endmacro %}

{% macro duckdb__instant_to_utc(ts) -%}
    timezone('UTC', {{ ts }})
{%- endmacro %}
