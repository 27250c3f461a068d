{#- Every gate's results of every run, appended: the history BI reads (one row per expectation
    per partition per run). Kept across runs and never truncated by --full-refresh.
    The columns a run can leave all null (no failure: no observed or unexpected values) are cast
    to fixed types, so a first run of nulls cannot fix a type that a later failure breaks. -#}
{{ config(materialized='incremental', full_refresh=false, on_schema_change='append_new_columns') }}

{%- set typed = {
    'suite': dbt.type_string(), 'expectation': dbt.type_string(),
    'column_name': dbt.type_string(), 'kwargs': dbt.type_string(),
    'severity': dbt.type_string(), 'observed_value': dbt.type_string(),
    'unexpected_count': dbt.type_bigint(), 'unexpected_percent': dbt.type_float(),
    'unexpected_values': dbt.type_string(), 'rows': dbt.type_bigint(),
    'run_at': dbt.type_timestamp()} %}

{%- for gate in var('dq_gates') %}
{%- set columns = adapter.get_columns_in_relation(ref('dq_' ~ gate)) | map(attribute='name')
                  | list if execute else [] %}
select
    {%- for column in columns %}
    {% if column in typed -%}
    cast({{ column }} as {{ typed[column] }}) as {{ column }}
    {%- else -%}
    {{ column }}
    {%- endif %}{{ "," if not loop.last }}
    {%- else %}
    *
    {%- endfor %}
from {{ ref('dq_' ~ gate) }}
{%- if is_incremental() %}
where run_at > (select coalesce(max(run_at), timestamp '1900-01-01') from {{ this }})
{%- endif %}
{% if not loop.last %}union all{% endif %}
{%- else %}
-- no gate yet (var dq_gates is empty): an empty history
select cast(null as {{ dbt.type_string() }}) as suite, cast(null as timestamp) as run_at where false
{%- endfor %}
