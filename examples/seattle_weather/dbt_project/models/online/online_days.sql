-- Each observed day's record, looked up by date at request time (the request names the day).
select
    day,
    weather,
    precipitation_mm,
    temp_max_c,
    temp_min_c,
    wind_ms
from {{ ref('stg_seattle__weather') }}
