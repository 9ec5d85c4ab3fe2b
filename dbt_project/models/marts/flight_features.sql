{{ config(
    materialized='incremental',
    tags=['monthly'],
    meta={'batch_column': 'flight_date'},
    pre_hook="{{ delete_batch('flight_date') }}",
) }}
-- One row per arrived flight: the label and every feature legal at decision time
-- (scheduled departure minus {{ var('decision_lead_minutes') }} minutes).
-- Nothing here reads the flight's own dep_time, dep_delay, arr_time, arr_delay or air_time
-- except the label; the history features read only flights that had arrived by then.
{%- set history_prefixes = ['route', 'carrier', 'origin_hour', 'tailnum'] %}
with flights as (
    select * from {{ ref('int_flights') }}
    where {{ in_batch('flight_date') }}
),

outcomes as (
    select flight_id, is_delayed from {{ ref('int_flight_outcomes') }}
    where {{ in_batch('flight_date') }}
),

planes as (
    select * from {{ ref('stg_nycflights13__planes') }}
)

select
    -- keys and times
    f.flight_id,
    f.flight_date,
    f.scheduled_departure_utc,
    f.decision_at_utc,
    -- calendar and schedule
    f.month,
    f.day_of_week,
    f.sched_dep_hour,
    c.days_to_nearest_holiday,
    f.carrier,
    f.flight_number,
    f.origin,
    f.dest,
    f.distance_miles,
    -- plane (unknown tail numbers: is_plane_known = false, type 'unknown', numbers null)
    f.tailnum,
    p.tailnum is not null as is_plane_known,
    f.year - p.year_built as plane_age_years,
    p.seats as plane_seats,
    p.engines as plane_engines,
    coalesce(p.plane_type, 'unknown') as plane_type,
    -- weather at the origin, latest observation at or before decision time
    w.weather_age_minutes,
    w.temp_f,
    w.dewpoint_f,
    w.humidity_pct,
    w.wind_dir_deg,
    w.wind_speed_mph,
    w.wind_gust_mph,
    w.precip_inches,
    w.pressure_mb,
    w.visibility_miles,
    -- history: arrivals before decision time; n_arrived = 0 means no history (rates null)
    {%- for prefix in history_prefixes %}
    {%- for days in var('history_windows_days') %}
    coalesce(h_{{ prefix }}.{{ prefix }}_{{ days }}d_n_arrived, 0) as {{ prefix }}_{{ days }}d_n_arrived,
    h_{{ prefix }}.{{ prefix }}_{{ days }}d_delay_rate,
    h_{{ prefix }}.{{ prefix }}_{{ days }}d_mean_arr_delay,
    {%- endfor %}
    {%- endfor %}
    -- label
    o.is_delayed
from flights as f
inner join outcomes as o on o.flight_id = f.flight_id
left join {{ ref('int_calendar_days') }} as c on c.calendar_date = f.flight_date
left join planes as p on p.tailnum = f.tailnum
left join (select * from {{ ref('int_flight_weather') }} where {{ in_batch('flight_date') }}) as w
    on w.flight_id = f.flight_id
{%- for prefix in history_prefixes %}
left join (
    select * from {{ ref('int_history__' ~ prefix) }} where {{ in_batch('flight_date') }}
) as h_{{ prefix }}
    on h_{{ prefix }}.flight_id = f.flight_id
{%- endfor %}
