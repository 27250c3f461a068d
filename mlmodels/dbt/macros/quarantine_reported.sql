{#- Reports (as a warning) how many rows a gate quarantined, per reason. -#}
{% test quarantine_reported(model) %}
{%- if execute -%}
    {%- set found = run_query("select quarantine_reason, count(*) from " ~ model ~ " group by 1 order by 2 desc") -%}
    {%- for row in found.rows -%}
        {%- do log("quarantined " ~ row[1] ~ " rows of " ~ model.identifier ~ ": " ~ row[0], info=true) -%}
    {%- endfor -%}
{%- endif %}
select * from {{ model }}
{% endtest %}
