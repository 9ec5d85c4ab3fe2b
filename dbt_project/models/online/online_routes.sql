-- Routes a request may name, with their distance from each date it took effect (the source
-- revises some: EWR-EGE is 1,726 miles until 2013-02-28 and 1,725 from 2013-03-01), so a
-- request gets the distance its flight date had, as the mart does.
select
    origin,
    dest,
    distance_miles,
    min(flight_date) as distance_since
from {{ ref('int_flights') }}
where decision_at_utc < {{ online_as_of() }}
group by origin, dest, distance_miles
