{#- Time cannot run ahead of the data. The observed end of the data: the `observed_until` var
    (a timestamp the user sets, e.g. the load time of the last extract), by default the time the
    build started (UTC). Events stamped later are an error (`future_events`), and the as_of grid
    and label maturity never reach past it, so a clock error in a source cannot create as_ofs,
    labels or predictions in the future. -#}
{% macro observed_until() -%}
    {{ return(adapter.dispatch('observed_until', 'mlmodels')()) }}
{%- endmacro %}

{% macro default__observed_until() -%}
    cast('{{ var("observed_until", run_started_at.strftime("%Y-%m-%d %H:%M:%S")) }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- The rows of `relation` stamped after the observed end (one per event): a singular test over
    it fails the build, naming the relation and the column, with the count of future events. -#}
{% macro future_events(relation, column) -%}
    {{ return(adapter.dispatch('future_events', 'mlmodels')(relation, column)) }}
{%- endmacro %}

{% macro default__future_events(relation, column) -%}
select
    '{{ relation }}' as relation_name,
    '{{ column }}' as column_name,
    {{ column }} as stamped_at,
    {{ mlmodels.observed_until() }} as observed_until
from {{ relation }}
where {{ column }} > {{ mlmodels.observed_until() }}
{%- endmacro %}
