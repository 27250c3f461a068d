{#- Generic test: no two rows share the same values of `columns` (the grain of a model). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_these_values
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Generic test: the grain of one ML model's table, with its key columns named by spec field
    (entity_key, as_of, score_column) and read from the spec when the test compiles; any other
    name is a column as written. Keeps the grain out of generated YAML. -#}
{% test spec_grain(model, model_name, columns) %}
{%- set spec = mlmodels.model_spec(model_name) -%}
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
