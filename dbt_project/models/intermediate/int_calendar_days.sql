-- Every calendar day of the years in var `calendar_years`, with the distance to the nearest US
-- federal holiday (travel peaks around them). A full date spine, so the online store can answer
-- for any day a request names, not only days with flights.
with days as (
    select cast(day as date) as calendar_date
    from generate_series(
        make_date({{ var('calendar_years')[0] }}, 1, 1),
        make_date({{ var('calendar_years')[1] }}, 12, 31),
        interval 1 day
    ) as spine(day)
)

select
    d.calendar_date,
    min(abs(date_diff('day', d.calendar_date, h.holiday_date))) as days_to_nearest_holiday
from days as d
inner join {{ ref('int_us_holidays') }} as h
    on h.holiday_date between d.calendar_date - 400 and d.calendar_date + 400
group by d.calendar_date
