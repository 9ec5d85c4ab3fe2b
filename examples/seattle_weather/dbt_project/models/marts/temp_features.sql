-- One row per day d with a known tomorrow: features from days <= d only (the decision is
-- taken at the end of d), the label from d + 1: tomorrow's maximum temperature.
with days as (
    select
        *,
        lead(day) over (order by day) as next_day,
        lead(temp_max_c) over (order by day) as temp_max_tomorrow_c
    from {{ ref('stg_seattle__weather') }}
),

history as (
    select
        day,
        sum(precipitation_mm) over (
            order by day range between interval 2 day preceding and current row
        ) as precip_3d_mm,
        sum(precipitation_mm) over (
            order by day range between interval 6 day preceding and current row
        ) as precip_7d_mm,
        avg((precipitation_mm > 0)::int) over (
            order by day range between interval 6 day preceding and current row
        ) as rain_rate_7d,
        avg(temp_max_c) over (
            order by day range between interval 2 day preceding and current row
        ) as temp_max_3d_avg_c,
        avg(temp_max_c) over (
            order by day range between interval 6 day preceding and current row
        ) as temp_max_7d_avg_c,
        temp_max_c - lag(temp_max_c) over (order by day) as temp_max_change_c
    from days
)

select
    cast(d.day as varchar) as day_id,
    d.day,
    (d.day + interval 1 day)::timestamp as decision_at,
    month(d.day) as month,
    extract(doy from d.day) as day_of_year,
    d.weather as weather_today,
    d.precipitation_mm,
    d.temp_max_c,
    d.temp_min_c,
    d.temp_max_c - d.temp_min_c as temp_range_c,
    d.wind_ms,
    h.precip_3d_mm,
    h.precip_7d_mm,
    h.rain_rate_7d,
    h.temp_max_3d_avg_c,
    h.temp_max_7d_avg_c,
    h.temp_max_change_c,
    d.temp_max_tomorrow_c
from days as d
inner join history as h using (day)
where d.next_day = d.day + interval 1 day
