-- Every registered aircraft, with its tail-number history as of its latest flight (if any).
with history as (
    {{ latest_entity_features(['tailnum'], 'tailnum') }}
)

select
    p.tailnum,
    p.year_built,
    p.seats as plane_seats,
    p.engines as plane_engines,
    coalesce(p.plane_type, 'unknown') as plane_type,
    {%- for days in var('history_windows_days') %}
    coalesce(h.tailnum_{{ days }}d_n_arrived, 0) as tailnum_{{ days }}d_n_arrived,
    h.tailnum_{{ days }}d_delay_rate,
    h.tailnum_{{ days }}d_mean_arr_delay,
    {%- endfor %}
    h.as_of_utc
from {{ ref('stg_nycflights13__planes') }} as p
left join history as h on h.tailnum = p.tailnum
