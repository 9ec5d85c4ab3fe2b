-- US federal holidays by rule, for the years of var `calendar_years` plus one either side.
-- Reference data: it does not read the flights, so a landed month never rebuilds it.
with years as (
    {{ integer_rows(var('calendar_years')[0] - 1, var('calendar_years')[1] + 1, 'year') }}
),

rules (holiday, month, fixed_day, weekday, nth) as (
    -- weekday: 0 = Sunday .. 6 = Saturday; nth = -1 means the last one in the month
    values
        ('New Year''s Day', 1, 1, null, null),
        ('Martin Luther King Jr. Day', 1, null, 1, 3),
        ('Washington''s Birthday', 2, null, 1, 3),
        ('Memorial Day', 5, null, 1, -1),
        ('Independence Day', 7, 4, null, null),
        ('Labor Day', 9, null, 1, 1),
        ('Columbus Day', 10, null, 1, 2),
        ('Veterans Day', 11, 11, null, null),
        ('Thanksgiving Day', 11, null, 4, 4),
        ('Christmas Day', 12, 25, null, null)
),

months as (
    select
        r.*,
        y.year,
        {%- set first_day = date_from_parts('y.year::integer', 'r.month', 1) %}
        {{ first_day }} as first_day,
        {{ month_last_day(first_day) }} as month_end
    from rules as r
    cross join years as y
)

select
    holiday,
    case
        when fixed_day is not null then {{ date_from_parts('year::integer', 'month', 'fixed_day') }}
        when nth > 0
            then first_day + ((weekday - {{ day_of_week('first_day') }} + 7) % 7 + 7 * (nth - 1))::integer
        else month_end - (({{ day_of_week('month_end') }} - weekday + 7) % 7)::integer
    end as holiday_date
from months
