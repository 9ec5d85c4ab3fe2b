{#-
  Point-in-time history windows of any entity: for each decision row, counts and means of the
  entity's past events over trailing windows, counting only what was known before the decision.

  A past event counts once it is *known* (`event_at`: for flights, when the flight arrived; its
  outcome is unknown before). For a decision at minute t, a window of D days holds the entity's
  events known at minutes t - D*1440 .. t - 1: an event at minute t - 1 counts and one at minute
  t does not (strictly before t), and the oldest minute counted is exactly D days before t. No
  event in the window: the count is 0, sums and means are NULL (as the online store's `History`
  view serves them: count, sum and mean, core/features/feature_views.py).

  Arguments:
    decisions       relation with one row per decision (e.g. ref('int_flights'))
    events          relation with one row per event (e.g. ref('int_flight_outcomes'))
    key_columns     the entity's key, columns of both relations (e.g. ['origin', 'dest'])
    prefix          output names: <prefix>_<D>d_<count_name>, then <prefix>_<D>d_<name> of
                    each mean and each sum
    decision_id     the decision's key, carried to the output with decision_date
    decision_date   the decision's date (monthly batches select by it)
    decision_at     the decision's timestamp (UTC)
    event_date      the event's date (the batch's events are read from `lookback_days` before)
    event_at        when the event became known (UTC timestamp)
    count_name      the count's name (e.g. 'n_arrived')
    means           [[name, expression over the events' columns], ...], e.g.
                    [['delay_rate', 'is_delayed::integer'], ['mean_arr_delay', 'arr_delay_minutes']]
    sums            [[name, expression], ...] summed over the window (default none)
    windows_days    the window lengths in days, e.g. [7, 30]
    lookback_days   days before a batch whose events its windows can reach: at least the
                    longest window plus the decision's lead over its date and any lag of
                    `event_at` over `event_date` (for flights: + 2)

  The shape (the pandas anchor, benchmarks/features_pandas.py, does the same with sorted
  searches): running sums of events in (entity, minute) order, one row per entity and minute;
  per decision, an as-of lookup of those sums at t - 1 minus one at t - 1 - D*1440 for each
  window D. Entity and minute pack into one integer key (`entity_minute_key`), so a lookup is a
  plain as-of on one sorted column, and a lookup that falls before an entity's first event lands
  on the previous entity's last row, whose sum is exactly where this entity's sums start: the
  difference is still the entity's own. Every window costs one merge, instead of a RANGE window
  frame per row. Integer expressions keep differences exact. The running sums are also what a
  request-time lookup needs (the online store's `History` view): the sums up to "now" minus
  those a window ago.

  Monthly batches (macros/month_batch.sql): decisions of the batch only, and events dated from
  `lookback_days` before it (sums start anywhere before a window: only differences are read).
-#}
{% macro point_in_time_history(
    decisions, events, key_columns, prefix, decision_id, decision_date, decision_at,
    event_date, event_at, count_name, means, windows_days, lookback_days, sums=[]
) %}
{%- set keys = key_columns | join(', ') -%}
{#- every statistic is a running total: means first, then sums -#}
{%- set totals = means + sums -%}
with entities as (
    {#- the entities decisions name, numbered 1..n in key order; events of an entity no
        decision names are left out (no lookup reads them) #}
    select
        {{ keys }},
        row_number() over (order by {{ keys }}) as entity_id
    from (
        select distinct {{ keys }}
        from {{ decisions }}
        where {{ all_not_null(key_columns) }} and {{ in_batch(decision_date) }}
    )
),

sums as (
    {#- running sums through each (entity, minute) with an event: one row per entity and
        minute, so an as-of lookup by key finds exactly one row #}
    select
        at_key,
        sum(n_events) over running as n_events
        {%- for name, expression in totals %},
        sum(total_{{ loop.index }}) over running as total_{{ loop.index }}
        {%- endfor %}
    from (
        select
            {{ entity_minute_key('e.entity_id', epoch_minute('o.' ~ event_at)) }} as at_key,
            count(*) as n_events
            {%- for name, expression in totals %},
            sum({{ expression }}) as total_{{ loop.index }}
            {%- endfor %}
        from {{ events }} as o
        inner join entities as e using ({{ keys }})
        where {{ in_batch('o.' ~ event_date, lookback_days) }}
        group by at_key
    )
    window running as (order by at_key rows between unbounded preceding and current row)
),

decisions as (
    select
        d.{{ decision_id }},
        d.{{ decision_date }},
        {{ entity_minute_key('e.entity_id', epoch_minute('d.' ~ decision_at) ~ ' - 1') }} as last_key
    from {{ decisions }} as d
    inner join entities as e using ({{ keys }})
    where {{ in_batch('d.' ~ decision_date) }}
),

windowed as (
    select
        d.{{ decision_id }},
        d.{{ decision_date }}
        {%- for days in windows_days %}
        {%- set w = 'w' ~ days %},
        coalesce(t.n_events, 0) - coalesce({{ w }}.n_events, 0) as n_{{ days }}
        {%- for name, expression in totals %},
        coalesce(t.total_{{ loop.index }}, 0) - coalesce({{ w }}.total_{{ loop.index }}, 0)
            as total_{{ loop.index }}_{{ days }}
        {%- endfor %}
        {%- endfor %}
    from decisions as d
    {{ asof_left_join('sums', 't', 'd', [], 'd.last_key', 'at_key') }}
    {%- for days in windows_days %}
    {{ asof_left_join('sums', 'w' ~ days, 'd', [], 'd.last_key - ' ~ days * 1440, 'at_key') }}
    {%- endfor %}
)

select
    {{ decision_id }},
    {{ decision_date }}
    {%- for days in windows_days %},
    n_{{ days }}::integer as {{ prefix }}_{{ days }}d_{{ count_name }}
    {%- for name, expression in means %},
    total_{{ loop.index }}_{{ days }} / nullif(n_{{ days }}, 0) as {{ prefix }}_{{ days }}d_{{ name }}
    {%- endfor %}
    {%- for name, expression in sums %},
    case when n_{{ days }} > 0 then total_{{ means | length + loop.index }}_{{ days }} end
        as {{ prefix }}_{{ days }}d_{{ name }}
    {%- endfor %}
    {%- endfor %}
from windowed
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
