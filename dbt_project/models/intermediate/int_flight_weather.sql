{{ config(
    materialized='incremental',
    tags=['monthly'],
    meta={'batch_column': 'flight_date'},
    pre_hook="{{ delete_batch('flight_date') }}",
) }}
-- The latest weather observation at the origin at or before decision time (an as-of join).
select
    f.flight_id,
    f.flight_date,
    w.observed_at_utc as weather_observed_at_utc,
    {{ minutes_between('w.observed_at_utc', 'f.decision_at_utc') }} as weather_age_minutes,
    w.temp_f,
    w.dewpoint_f,
    w.humidity_pct,
    w.wind_dir_deg,
    w.wind_speed_mph,
    w.wind_gust_mph,
    w.precip_inches,
    w.pressure_mb,
    w.visibility_miles
from (select * from {{ ref('int_flights') }} where {{ in_batch('flight_date') }}) as f
{{ asof_left_join(ref('stg_nycflights13__weather'), 'w', 'f', ['origin'], 'f.decision_at_utc', 'observed_at_utc') }}
