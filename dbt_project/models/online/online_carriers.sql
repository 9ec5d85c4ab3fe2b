-- Carriers a request may name.
select distinct carrier
from {{ ref('int_flights') }}
where decision_at_utc < coalesce(getvariable('online_as_of'), timestamp '9999-12-31')
