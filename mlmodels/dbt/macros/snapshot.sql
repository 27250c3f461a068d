{#- Snapshot models (spec `as_of: null`): one row per entity, no time column. Each build scores
    the rows to score with the champion and the challengers, stamped with the snapshot date. -#}

{#- The snapshot date of this build, as a SQL date: the `snapshot_date` var, by default the day
    the build started (UTC). The scores model reads the same var through its YAML config. -#}
{% macro snapshot_date() -%}
    {{ return(adapter.dispatch('snapshot_date', 'mlmodels')()) }}
{%- endmacro %}

{% macro default__snapshot_date() -%}
    cast('{{ var("snapshot_date", run_started_at.strftime("%Y-%m-%d")) }}' as date)
{%- endmacro %}


{#- The rows of a snapshot model: the mart's rows (one per entity) plus
      snapshot_date    - the build's snapshot date (kept as it is when the mart has the column);
      is_label_mature  - the target is known (these rows are trained on);
      is_scored        - the target is not known yet, or the row matches `score_where` (a SQL
                         filter over the mart, e.g. customers still active): these are scored.
    A row can be both: an active customer is a negative example today and scored for tomorrow. -#}
{% macro snapshot_training_set(mart, target, score_where=none) -%}
    {{ return(adapter.dispatch('snapshot_training_set', 'mlmodels')(mart, target, score_where)) }}
{%- endmacro %}

{% macro default__snapshot_training_set(mart, target, score_where) -%}
{%- set present = [] -%}
{%- if execute -%}
    {%- set present = adapter.get_columns_in_relation(mart) | map(attribute='name')
                      | map('lower') | list -%}
{%- endif %}
select
    mart.*,
    {%- if 'snapshot_date' not in present %}
    {{ mlmodels.snapshot_date() }} as snapshot_date,
    {%- endif %}
    case when mart.{{ target }} is null then false else true end as is_label_mature,
    case
        when mart.{{ target }} is null then true
        {%- if score_where %}
        when ({{ score_where }}) then true
        {%- endif %}
        else false
    end as is_scored
from {{ mart }} as mart
{%- endmacro %}


{#- The join condition of a model's scores with its rows: on entity and as_of for time-indexed
    models; for snapshot models on the entity and, when the rows carry a snapshot_date, on it
    (otherwise the rows are this build's snapshot). -#}
{% macro scored_rows_join(scores, rows, rows_relation, entity_key, as_of_col) -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- set present = adapter.get_columns_in_relation(rows_relation) | map(attribute='name')
                          | map('lower') | list -%}
    {%- endif -%}
    {{ rows }}.{{ entity_key }} = {{ scores }}.{{ entity_key }}
    {%- if not execute or as_of_col | lower in present %}
        and {{ rows }}.{{ as_of_col }} = {{ scores }}.{{ as_of_col }}
    {%- else %}
        and {{ scores }}.{{ as_of_col }} = {{ mlmodels.snapshot_date() }}
    {%- endif %}
{%- endmacro %}
