{#- Generic test: the grain of one ML model's table, with its key columns named by spec field
    (entity_key, as_of, score_column) and read from the spec when the test compiles; any other
    name is a column as written. Keeps the grain out of generated YAML. -#}
{% test spec_grain(model, model_name, columns) %}
{#- ml_model_specs is looked up beside the tested model, not ref'd (see model_spec). -#}
{%- set specs = adapter.get_relation(database=model.database, schema=model.schema,
                                     identifier='ml_model_specs') if execute else none -%}
{%- if execute and specs is none -%}
    {{ exceptions.raise_compiler_error("spec_grain: no ml_model_specs table beside " ~ model
                                       ~ ": build it first (dbt build builds it)") }}
{%- endif -%}
{%- set spec = mlmodels.model_spec(model_name, relation=specs if execute else 'ml_model_specs') -%}
{%- set resolved = [] -%}
{%- for column in columns -%}
    {%- do resolved.append(spec[column] if column in ('entity_key', 'as_of', 'score_column')
                           else column) -%}
{%- endfor %}
select {{ resolved | join(', ') }}, count(*) as rows_with_these_values
from {{ model }}
group by {{ resolved | join(', ') }}
having count(*) > 1
{% endtest %}
