-- Every day's record as an event for request-time windows over the days before a decision:
-- a day counts for a decision after its last minute (the mart's windows end with the day
-- decided on), so its time is the day's last minute, in minutes since the epoch.
select
    day,
    'SEA' as station,
    {{ epoch_minute('cast(day as timestamp)') }} + 1439 as known_minute,
    precipitation_mm,
    (precipitation_mm > 0)::int as rained,
    temp_max_c
from {{ ref('stg_seattle__weather') }}
