{#-
  The online view of an entity: its history features as of its most recent flight's decision
  time. What a request made now would see, read from the point-in-time mart itself.
  The DuckDB variable `online_as_of` (unset: no limit) moves "now" into the past: the online
  store asset sets it to serve a replayed month with only what was known at its start.
-#}
{% macro latest_entity_features(key_columns, prefix, extra_columns=[]) %}
select
    {{ key_columns | join(', ') }},
    {%- for column in extra_columns %}
    {{ column }},
    {%- endfor %}
    {%- for days in var('history_windows_days') %}
    {{ prefix }}_{{ days }}d_n_arrived,
    {{ prefix }}_{{ days }}d_delay_rate,
    {{ prefix }}_{{ days }}d_mean_arr_delay,
    {%- endfor %}
    decision_at_utc as as_of_utc
from {{ ref('flight_features') }}
where {% for k in key_columns %}{{ k }} is not null and {% endfor %}
    decision_at_utc < coalesce(getvariable('online_as_of'), timestamp '9999-12-31')
qualify row_number() over (
    partition by {{ key_columns | join(', ') }}
    order by decision_at_utc desc, flight_id desc
) = 1
{% endmacro %}
