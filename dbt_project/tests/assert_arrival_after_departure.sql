-- An arrival instant must fall after departure and within a day of it; anything else means
-- a time-zone or clock-parsing error that would leak or drop history.
select flight_id, departed_at_utc, arrived_at_utc
from {{ ref('int_flight_outcomes') }}
where {{ in_batch('flight_date') }}
  and (
    arrived_at_utc <= departed_at_utc
    or arrived_at_utc > departed_at_utc + interval 20 hour
  )
