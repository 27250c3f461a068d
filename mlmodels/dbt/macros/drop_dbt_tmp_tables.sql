{#- Post-hook: drop the `<model>__dbt_tmp<timestamp>` tables dbt-duckdb leaves behind after an
    incremental Python model (seen with dbt-duckdb 1.11.1). Renders to a harmless statement. -#}
{% macro drop_dbt_tmp_tables() -%}
    {{ return(adapter.dispatch('drop_dbt_tmp_tables', 'mlmodels')()) }}
{%- endmacro %}

{% macro default__drop_dbt_tmp_tables() -%}
    {%- if execute -%}
        {%- set prefix = this.identifier ~ '__dbt_tmp' -%}
        {%- set found = run_query(
            "select table_name from information_schema.tables where table_schema = '"
            ~ this.schema ~ "' and substring(table_name, 1, " ~ (prefix | length) ~ ") = '"
            ~ prefix ~ "'") -%}
        {%- for row in found.rows -%}
            {%- do run_query("drop table if exists " ~ this.schema ~ "." ~ adapter.quote(row[0])) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- Spark has no information_schema, and its incremental strategies leave no such tables. -#}
{% macro spark__drop_dbt_tmp_tables() -%}
    select 1
{%- endmacro %}
