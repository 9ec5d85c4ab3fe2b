-- Point-in-time guard: no flight may see a weather observation made after its decision time.
select flight_id, weather_age_minutes
from {{ ref('flight_features') }}
where {{ in_batch('flight_date') }} and weather_age_minutes < 0
