{#- Dialect-specific time helpers live here, so a move to another warehouse touches one file. -#}

{#- A naive local wall-clock timestamp in `tz_column` as a naive UTC timestamp. -#}
{% macro local_to_utc(local_ts, tz) -%}
    timezone('UTC', timezone({{ tz }}, {{ local_ts }}))
{%- endmacro %}

{#- A TIMESTAMPTZ as a naive UTC timestamp. -#}
{% macro instant_to_utc(ts) -%}
    timezone('UTC', {{ ts }})
{%- endmacro %}

{#- Whole minutes since the epoch, for integer RANGE windows. -#}
{% macro epoch_minute(ts) -%}
    (epoch_ms({{ ts }}) // 60000)
{%- endmacro %}

{#- HHMM clock integer (e.g. 1745, 2400) as minutes after midnight. -#}
{% macro hhmm_to_minutes(hhmm) -%}
    ({{ hhmm }} // 100 * 60 + {{ hhmm }} % 100)
{%- endmacro %}
