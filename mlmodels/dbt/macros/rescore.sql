{#- Correcting predictions after a data fix: `dbt build --select +ml_<model>__scores --vars
    '{rescore_from: "2025-01-01", rescore_to: "2025-06-01"}'` scores every as_of of the range
    again with the current champion and challengers (replacing what was written; an as_of inside the
    champion's fit window keeps its earlier rows), and this post-hook then deletes the range's
    rows at as_ofs the model's rows no longer hold (junk, e.g. from future-dated events),
    recording the rescore in `ml_rescore_history`. It runs only after the scores model
    succeeded: a failed run deletes nothing. -#}
{% macro rescore_cleanup(model_name, as_of_col, rows) -%}
    {{ return(adapter.dispatch('rescore_cleanup', 'mlmodels')(model_name, as_of_col, rows)) }}
{%- endmacro %}

{% macro default__rescore_cleanup(model_name, as_of_col, rows) -%}
    {%- set low, high = var('rescore_from', none), var('rescore_to', none) -%}
    {%- if execute and low and high -%}
        {%- set stale = mlmodels.rescore_stale(as_of_col, rows, low, high) -%}
        {%- do mlmodels.record_rescore(model_name, as_of_col, stale, low, high) -%}
        {%- do run_query("delete from " ~ this ~ " where " ~ stale) -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- Spark: Parquet tables have no delete, and the scores table is partitioned by as_of (see
    replace_partitions_strategy): the as_ofs of the range this run wrote were replaced whole,
    and those it did not write are dropped as partitions. -#}
{% macro spark__rescore_cleanup(model_name, as_of_col, rows) -%}
    {%- set low, high = var('rescore_from', none), var('rescore_to', none) -%}
    {%- if execute and low and high -%}
        {%- set stale = mlmodels.rescore_stale(as_of_col, rows, low, high) -%}
        {%- do mlmodels.record_rescore(model_name, as_of_col, stale, low, high) -%}
        {%- set dates = run_query("select distinct cast(" ~ as_of_col ~ " as " ~ dbt.type_string()
                                  ~ ") from " ~ this ~ " where " ~ stale) -%}
        {%- for row in dates.rows -%}
            {%- do run_query("alter table " ~ this ~ " drop if exists partition (" ~ as_of_col
                             ~ " = '" ~ row[0] ~ "')") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- The rows of the range that this run did not write: as_ofs no longer in `rows`. -#}
{% macro rescore_stale(as_of_col, rows, low, high) -%}
    {{ this }}.{{ as_of_col }} between cast('{{ low }}' as date) and cast('{{ high }}' as date)
    and {{ this }}.scored_at < cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}'
                                    as {{ dbt.type_timestamp() }})
    and {{ this }}.{{ as_of_col }} not in (select distinct {{ as_of_col }} from {{ rows }})
{%- endmacro %}

{#- One row of ml_rescore_history: the range, the rows it replaced and those it removed. -#}
{% macro record_rescore(model_name, as_of_col, stale, low, high) -%}
    {%- set history = api.Relation.create(database=this.database, schema=this.schema,
                                          identifier='ml_rescore_history') -%}
    {%- do run_query(
        "create table if not exists " ~ history ~ " (model_name " ~ dbt.type_string()
        ~ ", rescore_from date, rescore_to date, replaced_rows " ~ dbt.type_bigint()
        ~ ", rescored_rows " ~ dbt.type_bigint() ~ ", rescored_at " ~ dbt.type_timestamp()
        ~ ")") -%}
    {%- do run_query(
        "insert into " ~ history ~ " select '" ~ model_name ~ "', cast('" ~ low
        ~ "' as date), cast('" ~ high ~ "' as date), (select count(*) from " ~ this
        ~ " where " ~ stale ~ "), (select count(*) from " ~ this ~ " where " ~ this ~ "."
        ~ as_of_col ~ " between cast('" ~ low ~ "' as date) and cast('" ~ high
        ~ "' as date)) - (select count(*) from " ~ this ~ " where " ~ stale ~ "), "
        ~ "cast('" ~ run_started_at.strftime("%Y-%m-%d %H:%M:%S") ~ "' as "
        ~ dbt.type_timestamp() ~ ")") -%}
{%- endmacro %}
