select
    "date"::date as day,
    precipitation::double as precipitation_mm,
    temp_max::double as temp_max_c,
    temp_min::double as temp_min_c,
    wind::double as wind_ms,
    weather
from {{ source('seattle', 'weather') }}
