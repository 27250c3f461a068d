{#- Every registered version of every model in var('ml_models'), mirrored from the registry store
    (MLMODELS_ARTIFACT_DIR) by each model's ml_<name>__train. The store is the record: rebuilding
    this table, --full-refresh included, loses nothing. -#}
{%- for model_name in var('ml_models') %}
select * from {{ ref('ml_' ~ model_name ~ '__train') }}
{% if not loop.last %}union all{% endif %}
{%- else %}
-- no model yet (var ml_models is empty): an empty registry
select
    cast(null as {{ dbt.type_string() }}) as model_name, cast(null as {{ dbt.type_string() }}) as model_version,
    cast(null as {{ dbt.type_string() }}) as status, cast(null as {{ dbt.type_string() }}) as artifact_uri,
    cast(null as date) as train_to
where false
{%- endfor %}
