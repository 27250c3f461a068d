{#- Every registered version of every model in var('ml_models'), mirrored from the registry store
    (MLMODELS_ARTIFACT_DIR) by each model's ml_<name>__train. The store is the record: rebuilding
    this table, --full-refresh included, loses nothing. -#}
{%- for model_name in var('ml_models') %}
select * from {{ ref('ml_' ~ model_name ~ '__train') }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
