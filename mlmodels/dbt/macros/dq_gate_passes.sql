{#- Fails on the unsuccessful expectations of severity `level` in a gate model, and logs each
    failed expectation once, naming the suite, expectation, column and the partitions it failed
    in, so the build log says why it failed. -#}
{% test dq_gate_passes(model, level='error') %}
{%- set failed_rows -%}
    select suite, expectation, column_name, as_of, unexpected_count, observed_value
    from {{ model }}
    where not success and severity = '{{ level }}'
{%- endset -%}
{%- if execute -%}
    {%- set found = run_query(
        "select suite, expectation, coalesce(column_name, '(table)'), count(*),"
        ~ " coalesce(min(as_of), 'all rows'), coalesce(max(as_of), 'all rows'),"
        ~ " sum(unexpected_count), any_value(observed_value)"
        ~ " from (" ~ failed_rows ~ ") group by 1, 2, 3 order by 1, 2, 3") -%}
    {%- for row in found.rows -%}
        {%- do log("data quality " ~ level ~ ": suite " ~ row[0] ~ ": " ~ row[1] ~ " on column "
                   ~ row[2] ~ " failed in " ~ row[3] ~ " partition(s) " ~ row[4] ~ " .. " ~ row[5]
                   ~ " (" ~ (row[6] if row[6] is not none else "-") ~ " unexpected; observed "
                   ~ row[7] ~ ")", info=true) -%}
    {%- endfor -%}
{%- endif %}
{{ failed_rows }}
{% endtest %}
