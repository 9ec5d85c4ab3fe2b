{#-
  Monthly batches. A landed month (a Dagster partition, or a range of them) reaches dbt as the
  vars `batch_start` and `batch_end` (ISO dates, [start, end)): the models tagged `monthly` then
  compute only that batch's rows, delete the batch's old rows and append the new ones (a month
  landed twice leaves one copy). Without the vars a build covers every row, which is what a
  full rebuild is: the same SQL, so an incremental build equals a full one by construction
  (tests/dataset/test_incremental_features.py checks every column of every row).
-#}

{#- True for rows of the batch; `before_days` widens it backwards (windows that reach into
    earlier months read those rows). Always true without the vars: the whole history. -#}
{% macro in_batch(column, before_days=0, after_days=0) -%}
    {%- set start, end = var('batch_start', none), var('batch_end', none) -%}
    {%- if start is none or end is none -%}
        true
    {%- else -%}
        ({{ column }} >= date '{{ start }}' - interval {{ before_days }} day
         and {{ column }} < date '{{ end }}' + interval {{ after_days }} day)
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of an incremental monthly model: the batch's rows go before the new ones are
    appended, in the same transaction. -#}
{% macro delete_batch(column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_batch(column) }}
    {%- endif -%}
{%- endmacro %}


{#-
  dbt's generic tests read `(select * from model where <where>)`. A monthly model's tests read
  only the batch: its `meta.batch_column` names the column (other rows were tested when they
  landed), so the tests of a landed month cost a month, not the history.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set column = batch_column(relation) -%}
    {%- if column -%}
        {%- set batch = in_batch(column, 1, 1) -%}
        {%- set where = batch if not where else '(' ~ where ~ ') and ' ~ batch -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{#- The batch column a monthly model declares (`meta.batch_column`), or none. -#}
{% macro batch_column(relation) -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and node.alias == relation.identifier
                  and node.schema == relation.schema -%}
                {%- do return(node.config.meta.get('batch_column')) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- do return(none) -%}
{%- endmacro %}
