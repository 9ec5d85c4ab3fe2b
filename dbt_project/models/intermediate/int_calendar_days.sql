-- Every calendar day from a year before the first flight to a year after the last, with the
-- distance to the nearest US federal holiday (travel peaks around them). A full date spine,
-- so the online store can answer for any day a request names, not only days with flights.
with bounds as (
    select min(year) - 1 as first_year, max(year) + 1 as last_year
    from {{ ref('stg_nycflights13__flights') }}
),

days as (
    select cast(day as date) as calendar_date
    from bounds,
        generate_series(
            make_date(first_year::integer, 1, 1),
            make_date(last_year::integer, 12, 31),
            interval 1 day
        ) as spine(day)
)

select
    d.calendar_date,
    min(abs(date_diff('day', d.calendar_date, h.holiday_date))) as days_to_nearest_holiday
from days as d
cross join {{ ref('int_us_holidays') }} as h
group by d.calendar_date
