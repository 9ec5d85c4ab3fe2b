{#- A composite-key uniqueness test, so the project needs no dbt package (no `dbt deps`,
    no network). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
