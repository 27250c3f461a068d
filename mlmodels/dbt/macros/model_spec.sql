{#- The spec of one ML model as the SQL layers read it: one row of ml_model_specs (written by
    that package model from ml/<name>.yml at the start of the build), parsed from JSON. This is
    how a model's dbt files carry no copied spec value: they name the model, and every threshold,
    column and window comes from its spec when the node compiles, after ml_model_specs is built.

    At parse time (execute is false) nothing can be read yet; a placeholder of the same shape
    lets the macros render, and the ref() below records the dependency on ml_model_specs. -#}
{% macro model_spec(model_name, relation=none) -%}
    {#- A test passes the table's relation instead: a ref would attach it to ml_model_specs too,
        and dbt would run it whenever ml_model_specs is selected, before its model exists. -#}
    {%- set relation = relation if relation is not none else ref('ml_model_specs') -%}
    {%- if not execute -%}
        {{ return(mlmodels.placeholder_spec(model_name)) }}
    {%- endif -%}
    {%- set found = run_query("select spec_json from " ~ relation ~ " where model_name = '"
                              ~ model_name ~ "'") -%}
    {%- if found.rows | length != 1 -%}
        {{ exceptions.raise_compiler_error(
            "model '" ~ model_name ~ "' has no row in " ~ relation ~ ": list it in the ml_models"
            ~ " var of dbt_project.yml, with its spec in ml/" ~ model_name ~ ".yml") }}
    {%- endif -%}
    {{ return(fromjson(found.rows[0][0])) }}
{%- endmacro %}

{#- The shape of model_spec() with neutral values, for parsing only: never compiled into SQL
    that runs. -#}
{% macro placeholder_spec(model_name) -%}
    {{ return({
        'name': model_name, 'task': 'binary_classification', 'entity_key': 'entity_key',
        'as_of': 'as_of_date', 'score_column': 'as_of_date', 'target': 'target',
        'snapshot': false, 'training_set': 'ml_' ~ model_name ~ '__training_set',
        'attributes': [], 'tier1': [], 'drift_moderate': 0.1, 'drift_threshold': 0.2,
        'performance_margin': 0.05, 'rate_gap': 0.15, 'rate_window': 3,
        'label': {'mart': 'mart', 'events': 'events', 'timestamp': 'ts', 'horizon_days': 1,
                  'where': 'true', 'value': none, 'absent': false},
        'valid_periods': 3, 'test_periods': 3, 'embargo_days': none,
        'snapshot_mart': none, 'score_where': none, 'capacity': none,
        'capacity_share': none}) }}
{%- endmacro %}

{#- Fail the compile when a generated file's ref no longer matches the spec (the spec was
    edited to read another relation): the file must be generated again. -#}
{% macro check_spec_ref(spec, field, relation, expected) -%}
    {%- if execute and relation.identifier | lower != expected | lower -%}
        {{ exceptions.raise_compiler_error(
            "model '" ~ spec.name ~ "': ml/" ~ spec.name ~ ".yml names " ~ field ~ " '"
            ~ expected ~ "' but " ~ this.identifier ~ " reads '" ~ relation.identifier
            ~ "': run `mlmodels new " ~ spec.name ~ " --force` to regenerate its files") }}
    {%- endif -%}
{%- endmacro %}
