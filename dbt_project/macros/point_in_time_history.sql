{#-
  Delay history per entity as it stood at each flight's decision time.

  A past flight counts only once it has *arrived*: its outcome is unknown before then. Arrivals
  and decisions go into one time-ordered stream per entity; each decision row sums the arrivals
  in a RANGE window that ends one minute before the decision, so an arrival at minute t-1 counts
  and one at minute t does not. One sort per entity serves every window length.
-#}
{% macro point_in_time_history(key_columns, prefix) %}
{%- set keys = key_columns | join(', ') -%}
with arrivals as (
    select
        {{ keys }},
        {{ epoch_minute('arrived_at_utc') }} as event_minute,
        1 as arrived,
        is_delayed::integer as delayed,
        arr_delay_minutes as arr_delay,
        null::varchar as flight_id
    from {{ ref('int_flight_outcomes') }}
    where {% for k in key_columns %}{{ k }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
),

decisions as (
    select
        {{ keys }},
        {{ epoch_minute('decision_at_utc') }} - 1 as event_minute,
        0 as arrived,
        0 as delayed,
        0 as arr_delay,
        flight_id
    from {{ ref('int_flights') }}
    where {% for k in key_columns %}{{ k }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
),

windowed as (
    select
        flight_id,
        {%- for days in var('history_windows_days') %}
        sum(arrived) over w{{ days }} as n_{{ days }},
        sum(delayed) over w{{ days }} as delayed_{{ days }},
        sum(arr_delay) over w{{ days }} as total_delay_{{ days }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from (select * from arrivals union all select * from decisions)
    window
        {%- for days in var('history_windows_days') %}
        w{{ days }} as (
            partition by {{ keys }}
            order by event_minute
            range between {{ days * 1440 - 1 }} preceding and current row
        ){% if not loop.last %},{% endif %}
        {%- endfor %}
)

select
    flight_id,
    {%- for days in var('history_windows_days') %}
    n_{{ days }}::integer as {{ prefix }}_{{ days }}d_n_arrived,
    delayed_{{ days }} / nullif(n_{{ days }}, 0) as {{ prefix }}_{{ days }}d_delay_rate,
    total_delay_{{ days }} / nullif(n_{{ days }}, 0) as {{ prefix }}_{{ days }}d_mean_arr_delay{% if not loop.last %},{% endif %}
    {%- endfor %}
from windowed
where flight_id is not null
{% endmacro %}
