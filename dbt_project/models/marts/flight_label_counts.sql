-- How many scheduled flights became labelled rows, and how many were left out
-- (cancelled or diverted: no arrival delay, so no label). One row.
select
    (select count(*) from {{ ref('int_flights') }}) as scheduled_flights,
    (select count(*) from {{ ref('int_flight_outcomes') }}) as labelled_flights,
    (select count(*) from {{ ref('int_flights') }})
        - (select count(*) from {{ ref('int_flight_outcomes') }}) as excluded_no_arrival,
    (select avg(is_delayed::double) from {{ ref('int_flight_outcomes') }}) as delayed_rate
