{#-
  Minute arithmetic on naive timestamps. DuckDB has `to_minutes` intervals, `date_diff`, and
  `//` for integer division; other warehouses spell each differently, so each is a dispatched
  macro (docs/warehouse-dialects.md).
-#}

{#- `ts` plus `minutes` (an integer expression, may be negative) as a timestamp; `ts` may be a
    DATE (midnight). -#}
{% macro add_minutes(ts, minutes) -%}
    {{ return(adapter.dispatch('add_minutes')(ts, minutes)) }}
{%- endmacro %}

{% macro duckdb__add_minutes(ts, minutes) -%}
    ({{ ts }} + to_minutes({{ minutes }}))
{%- endmacro %}


{#- Minute boundaries crossed from `start_ts` to `end_ts` (negative when end is earlier): the
    elapsed minutes when both fall on whole minutes. -#}
{% macro minutes_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('minutes_between')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro duckdb__minutes_between(start_ts, end_ts) -%}
    date_diff('minute', {{ start_ts }}, {{ end_ts }})
{%- endmacro %}


{#- Whole minutes since 1970-01-01 (truncated toward zero; every instant here is later), an
    integer: the keys of the history as-of lookups and of the online arrivals. -#}
{% macro epoch_minute(ts) -%}
    {{ return(adapter.dispatch('epoch_minute')(ts)) }}
{%- endmacro %}

{% macro duckdb__epoch_minute(ts) -%}
    (epoch_ms({{ ts }}) // 60000)
{%- endmacro %}


{#- HHMM clock integer (e.g. 1745, 2400) as minutes after midnight, an integer. -#}
{% macro hhmm_to_minutes(hhmm) -%}
    {{ return(adapter.dispatch('hhmm_to_minutes')(hhmm)) }}
{%- endmacro %}

{% macro duckdb__hhmm_to_minutes(hhmm) -%}
    ({{ hhmm }} // 100 * 60 + {{ hhmm }} % 100)
{%- endmacro %}
