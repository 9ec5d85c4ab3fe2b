{#-
  The flights' delay history per entity (carrier, route, origin hour, plane) as it stood at each
  flight's decision time: `point_in_time_history` over the scheduled flights and their arrivals.
  A fork removes this file with the flight models.
-#}
{% macro flight_history(key_columns, prefix) %}
{{ point_in_time_history(
    decisions=ref('int_flights'),
    events=ref('int_flight_outcomes'),
    key_columns=key_columns,
    prefix=prefix,
    decision_id='flight_id',
    decision_date='flight_date',
    decision_at='decision_at_utc',
    event_date='flight_date',
    event_at='arrived_at_utc',
    count_name='n_arrived',
    means=[['delay_rate', 'is_delayed::integer'], ['mean_arr_delay', 'arr_delay_minutes']],
    windows_days=var('history_windows_days'),
    lookback_days=history_lookback_days(),
) }}
{% endmacro %}


{#- Days before a batch whose arrivals its windows can reach: the longest window, a day for the
    decision lead and the UTC offset, and a day for flights that arrive the next day. -#}
{% macro history_lookback_days() -%}
    {{ var('history_windows_days') | max + 2 }}
{%- endmacro %}
