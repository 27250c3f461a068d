{#- Source-level gates: corruption stops at ingestion, before a feature, a label or a score.

    Each macro is the body of a singular test that `mlmodels draft-gates` writes (one test per
    relation, column and rule, so dbt's failure line names all three). Each returns one row per
    violation, with `relation_name`, `column_name`, `rule` and a `detail` saying what was found
    against what was expected; no rows means the gate passes. Only dbt's cross-database macros are
    used, so the gates run on every adapter the package supports. -#}

{#- Columns missing from `relation`, or of another type than `expected` ({column: type}, the
    types the relation had when the gate was drafted, compared by `type_family`). -#}
{% macro columns_changed(relation, expected) -%}
    {%- set found = {} -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do found.update({column.name | lower: column.dtype}) -%}
    {%- endfor -%}
    {%- set problems = [] -%}
    {%- for name, type in expected.items() -%}
        {%- if name | lower not in found -%}
            {%- do problems.append((name, "column missing (expected " ~ type ~ ")")) -%}
        {%- elif mlmodels.type_family(found[name | lower]) != mlmodels.type_family(type) -%}
            {%- do problems.append((name, "type " ~ found[name | lower] ~ ", expected " ~ type)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name, detail in problems %}
select '{{ relation }}' as relation_name, '{{ name }}' as column_name, 'schema' as rule, '{{ detail }}' as detail
{% if not loop.last %}union all{% endif %}
    {%- else %}
select '{{ relation }}' as relation_name, '' as column_name, 'schema' as rule, '' as detail
where 1 = 0
    {%- endfor %}
{%- endmacro %}


{#- One row when the share of missing values of `column` exceeds `max_share` (0: not null).
    With `blank_is_missing`, empty and whitespace-only strings count as missing: a text column
    that should hold numbers often says "missing" with a blank. -#}
{% macro missing_share_above(relation, column, max_share, blank_is_missing=false) -%}
select
    '{{ relation }}' as relation_name,
    '{{ column }}' as column_name,
    'missing_share' as rule,
    missing_rows,
    total_rows,
    {{ max_share }} as max_share
from (
    select
        count(*) as total_rows,
        sum(case when {{ adapter.quote(column) }} is null
            {%- if blank_is_missing %} or trim(cast({{ adapter.quote(column) }} as {{ dbt.type_string() }})) = ''{% endif %}
            then 1 else 0 end) as missing_rows
    from {{ relation }}
) as counted
where missing_rows > {{ max_share }} * total_rows
{%- endmacro %}


{#- The values of `column` below `minimum` (negative amounts, say), with how often each occurs. -#}
{% macro values_below(relation, column, minimum) -%}
select
    '{{ relation }}' as relation_name,
    '{{ column }}' as column_name,
    'minimum' as rule,
    {{ adapter.quote(column) }} as found_value,
    count(*) as rows_found
from {{ relation }}
where {{ adapter.quote(column) }} < {{ minimum }}
group by {{ adapter.quote(column) }}
{%- endmacro %}


{#- The values of `column` outside `values` (an unseen category), with how often each occurs. -#}
{% macro unexpected_values(relation, column, values) -%}
select
    '{{ relation }}' as relation_name,
    '{{ column }}' as column_name,
    'accepted_values' as rule,
    cast({{ adapter.quote(column) }} as {{ dbt.type_string() }}) as found_value,
    count(*) as rows_found
from {{ relation }}
where {{ adapter.quote(column) }} is not null
  and cast({{ adapter.quote(column) }} as {{ dbt.type_string() }}) not in (
    {%- for value in values %}'{{ value | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor -%})
group by cast({{ adapter.quote(column) }} as {{ dbt.type_string() }})
{%- endmacro %}


{#- Key values held by more than one distinct row. Exact duplicate rows (a double load that
    staging removes with `distinct`) are not key duplicates; the same order reloaded under a new
    id is one, on its natural key. -#}
{% macro duplicate_keys(relation, columns) -%}
select
    '{{ relation }}' as relation_name,
    '{{ columns | join(", ") }}' as column_name,
    'unique' as rule,
    {% for column in columns %}{{ adapter.quote(column) }}, {% endfor %}count(*) as distinct_rows
from (select distinct * from {{ relation }}) as distinct_rows
group by {% for column in columns %}{{ adapter.quote(column) }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{%- endmacro %}


{#- Gaps in time: each `period` (day, week or month) with no row between two that have rows,
    up to the observed end of the data. A day or a month missing from a load fails here instead of
    flipping labels downstream. -#}
{% macro empty_periods(relation, column, period) -%}
with periods as (
    select distinct {{ dbt.date_trunc(period, adapter.quote(column)) }} as period_start
    from {{ relation }}
    where {{ adapter.quote(column) }} <= {{ mlmodels.observed_until() }}
),

neighbours as (
    select
        period_start,
        lag(period_start) over (order by period_start) as previous_start
    from periods
)

select
    '{{ relation }}' as relation_name,
    '{{ column }}' as column_name,
    'no_empty_{{ period }}' as rule,
    previous_start as last_{{ period }}_with_rows,
    period_start as next_{{ period }}_with_rows
from neighbours
where previous_start is not null
  and period_start > {{ dbt.dateadd(period, 1, 'previous_start') }}
{%- endmacro %}


{#- A type name as one family, whatever the engine calls it: lower case, the length of a text
    type dropped, and the synonyms engines use folded (Spark's string, int and timestamp_ntz
    are DuckDB's varchar, integer and timestamp), so a gate drafted on one engine holds on the
    other. -#}
{% macro type_family(type_name) -%}
    {%- set name = type_name | lower | trim -%}
    {%- set base = name.split('(')[0] | trim -%}
    {%- set synonyms = {'string': 'varchar', 'text': 'varchar', 'char': 'varchar',
                        'character varying': 'varchar', 'int': 'integer', 'int4': 'integer',
                        'long': 'bigint', 'int8': 'bigint', 'short': 'smallint',
                        'float8': 'double', 'double precision': 'double', 'float4': 'float',
                        'real': 'float', 'bool': 'boolean', 'timestamp_ntz': 'timestamp',
                        'numeric': 'decimal'} -%}
    {%- if base in ('varchar', 'string', 'text', 'char', 'character varying') -%}
        {{- 'varchar' -}}
    {%- elif base in ('decimal', 'numeric') -%}
        {{- name | replace('numeric', 'decimal') | replace(' ', '') -}}
    {%- else -%}
        {{- synonyms.get(base, base) -}}
    {%- endif -%}
{%- endmacro %}

