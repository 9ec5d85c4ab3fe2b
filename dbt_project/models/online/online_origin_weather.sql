-- Weather observations per origin airport, for as-of lookups at request time (a few thousand
-- rows a month: small enough to hold whole in the online store). `online_as_of` (unset: no
-- limit) keeps only what had been observed by then.
select *
from {{ ref('stg_nycflights13__weather') }}
where observed_at_utc < {{ online_as_of() }}
