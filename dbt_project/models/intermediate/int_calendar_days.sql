-- Every calendar day of the years in var `calendar_years`, with the distance to the nearest US
-- federal holiday (travel peaks around them). A full date spine, so the online store can answer
-- for any day a request names, not only days with flights.
with days as (
    {{ date_rows(
        date_from_parts(var('calendar_years')[0], 1, 1),
        date_from_parts(var('calendar_years')[1], 12, 31),
        'calendar_date'
    ) }}
)

select
    d.calendar_date,
    min(abs({{ days_between('d.calendar_date', 'h.holiday_date') }})) as days_to_nearest_holiday
from days as d
inner join {{ ref('int_us_holidays') }} as h
    on h.holiday_date between d.calendar_date - 400 and d.calendar_date + 400
group by d.calendar_date
