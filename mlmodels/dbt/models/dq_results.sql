{#- Every gate's results of every run, appended: the history BI reads (one row per expectation
    per partition per run). Kept across runs and never truncated by --full-refresh. -#}
{{ config(materialized='incremental', full_refresh=false, on_schema_change='append_new_columns') }}

{%- for gate in var('dq_gates') %}
select * from {{ ref('dq_' ~ gate) }}
{%- if is_incremental() %}
where run_at > (select coalesce(max(run_at), timestamp '1900-01-01') from {{ this }})
{%- endif %}
{% if not loop.last %}union all{% endif %}
{%- else %}
-- no gate yet (var dq_gates is empty): an empty history
select cast(null as varchar) as suite, cast(null as timestamp) as run_at where false
{%- endfor %}
