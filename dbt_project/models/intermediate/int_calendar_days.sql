-- Per calendar day: distance to the nearest US federal holiday (travel peaks around them).
with days as (
    select distinct flight_date from {{ ref('int_flights') }}
)

select
    d.flight_date,
    min(abs(date_diff('day', d.flight_date, h.holiday_date))) as days_to_nearest_holiday
from days as d
cross join {{ ref('int_us_holidays') }} as h
group by d.flight_date
