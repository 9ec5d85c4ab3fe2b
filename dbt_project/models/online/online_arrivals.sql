-- Every arrival a request may count, with the entity keys it counts for. The service sums
-- these at request time over [t - 7 d, t) and [t - 30 d, t) per entity (prefix sums and two
-- binary searches, mlops_assets/core/features/online_features.py): the same rows and the same minute
-- boundaries as the mart's int_history__* models, so online and offline features are equal.
-- The DuckDB variable `online_as_of` (unset: no limit) keeps only what had arrived by then.
select
    flight_id,
    carrier,
    origin,
    dest,
    sched_dep_hour,
    tailnum,
    {{ epoch_minute('arrived_at_utc') }} as arrived_minute,
    is_delayed::integer as delayed,
    arr_delay_minutes as arr_delay
from {{ ref('int_flight_outcomes') }}
where arrived_at_utc < {{ online_as_of() }}
order by arrived_minute, carrier, origin, dest
