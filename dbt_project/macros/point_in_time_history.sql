{#-
  Delay history per entity as it stood at each flight's decision time.

  A past flight counts only once it has *arrived*: its outcome is unknown before then. For a
  decision at minute t, a window of D days holds the entity's arrivals at minutes
  t - D*1440 .. t - 1: an arrival at minute t - 1 counts and one at minute t does not (strictly
  before t), and the oldest minute counted is exactly D days before t. No arrival in the window:
  n_arrived 0, rates NULL.

  The shape (the pandas anchor, benchmarks/features_pandas.py, does the same with sorted
  searches): running sums of arrivals in (entity, arrival minute) order, one row per entity and
  minute (`arrival_running_sums`); per decision, an as-of lookup of those sums at t - 1 minus one
  at t - 1 - D*1440 for each window D. Entity and minute pack into one integer key
  (`entity_minute_key`), so a lookup is a plain as-of on one sorted column, and a lookup that
  falls before an entity's first arrival lands on the previous entity's last row, whose sum is
  exactly where this entity's sums start: the difference is still the entity's own. Every
  window costs one merge, instead of a RANGE window frame per row. The running sums are also
  what a request-time lookup needs: the sums up to "now" minus those a window ago.

  Monthly batches (macros/month_batch.sql): decisions of the batch only, and arrivals of flights
  dated from `history_lookback_days()` before it, which holds every arrival a window of the
  batch can reach (sums start anywhere before a window: only differences are read).
-#}
{% macro point_in_time_history(key_columns, prefix) %}
{%- set keys = key_columns | join(', ') -%}
with entities as (
    {{ history_entities(key_columns) }}
),

sums as (
    {{ arrival_running_sums(key_columns, 'entities') }}
),

decisions as (
    select
        f.flight_id,
        f.flight_date,
        {{ entity_minute_key('e.entity_id', epoch_minute('f.decision_at_utc') ~ ' - 1') }} as last_key
    from {{ ref('int_flights') }} as f
    inner join entities as e using ({{ keys }})
    where {{ in_batch('f.flight_date') }}
),

windowed as (
    select
        d.flight_id,
        d.flight_date,
        {%- for days in var('history_windows_days') %}
        {%- set w = 'w' ~ days %}
        coalesce(t.n_arrived, 0) - coalesce({{ w }}.n_arrived, 0) as n_{{ days }},
        coalesce(t.n_delayed, 0) - coalesce({{ w }}.n_delayed, 0) as delayed_{{ days }},
        coalesce(t.total_arr_delay, 0) - coalesce({{ w }}.total_arr_delay, 0)
            as total_delay_{{ days }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from decisions as d
    {{ asof_left_join('sums', 't', 'd', [], 'd.last_key', 'at_key') }}
    {%- for days in var('history_windows_days') %}
    {{ asof_left_join('sums', 'w' ~ days, 'd', [], 'd.last_key - ' ~ days * 1440, 'at_key') }}
    {%- endfor %}
)

select
    flight_id,
    flight_date,
    {%- for days in var('history_windows_days') %}
    n_{{ days }}::integer as {{ prefix }}_{{ days }}d_n_arrived,
    delayed_{{ days }} / nullif(n_{{ days }}, 0) as {{ prefix }}_{{ days }}d_delay_rate,
    total_delay_{{ days }} / nullif(n_{{ days }}, 0) as {{ prefix }}_{{ days }}d_mean_arr_delay{% if not loop.last %},{% endif %}
    {%- endfor %}
from windowed
{% endmacro %}


{#-
  The entities that decisions name, numbered 1..n in key order. Arrivals of an entity no
  decision names are left out of the sums: no lookup reads them, and leaving them out shifts
  only where the next entity's sums start.
-#}
{% macro history_entities(key_columns) %}
{%- set keys = key_columns | join(', ') -%}
select
    {{ keys }},
    row_number() over (order by {{ keys }}) as entity_id
from (
    select distinct {{ keys }}
    from {{ ref('int_flights') }}
    where {{ all_not_null(key_columns) }} and {{ in_batch('flight_date') }}
)
{% endmacro %}


{#-
  Running sums of arrivals (count, delayed count, arrival-delay minutes) through each
  (entity, minute) with an arrival, cumulative in `at_key` order: one row per entity and minute,
  so an as-of lookup by key finds exactly one row. Integer sums, so differences are exact.
-#}
{% macro arrival_running_sums(key_columns, entities) %}
{%- set keys = key_columns | join(', ') -%}
select
    at_key,
    sum(arrived) over running as n_arrived,
    sum(delayed) over running as n_delayed,
    sum(arr_delay) over running as total_arr_delay
from (
    select
        {{ entity_minute_key('e.entity_id', epoch_minute('o.arrived_at_utc')) }} as at_key,
        count(*) as arrived,
        sum(o.is_delayed::integer) as delayed,
        sum(o.arr_delay_minutes) as arr_delay
    from {{ ref('int_flight_outcomes') }} as o
    inner join {{ entities }} as e using ({{ keys }})
    where {{ in_batch('o.flight_date', history_lookback_days()) }}
    group by at_key
)
window running as (order by at_key rows between unbounded preceding and current row)
{% endmacro %}


{#-
  (entity, minute) as one sortable integer: entity_id * 2^32 + minute. Minutes since the epoch
  stay within 0 .. 2^32 for any instant from 1970 to the year 10,000, so keys of one entity never
  reach into the next one's.
-#}
{% macro entity_minute_key(entity_id, minute) -%}
    ({{ entity_id }} * 4294967296 + {{ minute }})
{%- endmacro %}


{#- `k1 is not null and k2 is not null ...` -#}
{% macro all_not_null(columns) -%}
    {% for c in columns %}{{ c }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
{%- endmacro %}


{#- Days before a batch whose arrivals its windows can reach: the longest window, a day for the
    decision lead and the UTC offset, and a day for flights that arrive the next day. -#}
{% macro history_lookback_days() -%}
    {{ var('history_windows_days') | max + 2 }}
{%- endmacro %}
