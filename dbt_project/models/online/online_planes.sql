-- Every registered aircraft's attributes (its delay history comes from online_arrivals).
select
    tailnum,
    year_built,
    seats as plane_seats,
    engines as plane_engines,
    coalesce(plane_type, 'unknown') as plane_type
from {{ ref('stg_nycflights13__planes') }}
