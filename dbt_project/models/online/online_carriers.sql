-- Carriers a request may name.
select distinct carrier
from {{ ref('int_flights') }}
where decision_at_utc < {{ online_as_of() }}
