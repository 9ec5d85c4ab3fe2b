{{ config(
    materialized='incremental',
    tags=['monthly'],
    meta={'batch_column': 'flight_date'},
    pre_hook="{{ delete_batch('flight_date') }}",
) }}
-- One row per scheduled flight with what is known at decision time: the schedule.
select
    flight_id,
    flight_date,
    year,
    month,
    {{ iso_day_of_week('flight_date') }} as day_of_week,
    carrier,
    flight_number,
    tailnum,
    origin,
    dest,
    distance_miles,
    sched_dep_hour,
    sched_dep_minute,
    {%- set scheduled = add_minutes('sched_dep_hour_utc', 'sched_dep_minute::bigint') %}
    {{ scheduled }} as scheduled_departure_utc,
    {{ add_minutes(scheduled, -var('decision_lead_minutes')) }} as decision_at_utc
from {{ ref('stg_nycflights13__flights') }}
where {{ in_batch('flight_date') }}
