{#- The incremental strategy of a table whose runs replace whole partitions (an as_of, a
    snapshot date): DuckDB deletes the partition's rows and inserts them again (delete+insert on
    unique_key); Spark's Parquet tables have no delete, so the table is partitioned by the
    column and each partition written is overwritten (insert_overwrite, dynamic). -#}
{% macro replace_partitions_strategy() -%}
    {{ return(adapter.dispatch('replace_partitions_strategy', 'mlmodels')()) }}
{%- endmacro %}

{% macro default__replace_partitions_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__replace_partitions_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{#- The partition_by of such a table: the column on Spark, none elsewhere. -#}
{% macro replace_partitions_by(column) -%}
    {{ return(adapter.dispatch('replace_partitions_by', 'mlmodels')(column)) }}
{%- endmacro %}

{% macro default__replace_partitions_by(column) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__replace_partitions_by(column) -%}
    {{ return(column) }}
{%- endmacro %}
