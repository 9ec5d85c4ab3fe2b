-- The latest weather observation at each origin airport.
select *
from {{ ref('stg_nycflights13__weather') }}
qualify row_number() over (partition by origin order by observed_at_utc desc) = 1
