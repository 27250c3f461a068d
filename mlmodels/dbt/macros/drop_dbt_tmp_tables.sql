{#- Post-hook: drop the `<model>__dbt_tmp<timestamp>` tables dbt-duckdb leaves behind after an
    incremental Python model (seen with dbt-duckdb 1.11.1). Renders to a harmless statement. -#}
{% macro drop_dbt_tmp_tables() -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select table_name from information_schema.tables where table_schema = '"
            ~ this.schema ~ "' and starts_with(table_name, '" ~ this.identifier ~ "__dbt_tmp')") -%}
        {%- for row in found.rows -%}
            {%- do run_query("drop table if exists " ~ this.schema ~ '."' ~ row[0] ~ '"') -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
