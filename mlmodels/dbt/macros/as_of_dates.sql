{#- The as_of grid: one date per `cadence` (day | week | month) from start_date up to end_date.
    end_date may be an SQL expression such as a scalar subquery over the event log. The grid never
    passes the observed end of the data (mlmodels.observed_until): an event stamped in the future
    cannot create as_ofs. -#}
{% macro as_of_dates(start_date, end_date, cadence='month') -%}
    {{ return(adapter.dispatch('as_of_dates', 'mlmodels')(start_date, end_date, cadence)) }}
{%- endmacro %}

{% macro default__as_of_dates(start_date, end_date, cadence='month') -%}
    {%- if cadence not in ['day', 'week', 'month'] -%}
        {{ exceptions.raise_compiler_error(
            "as_of_dates: cadence must be day, week or month, got '" ~ cadence ~ "'") }}
    {%- endif -%}
    {#- dbt's date_spine makes datediff(start, end) periods, which drops the last as_of when end
        is not on a period boundary: span one period more, then keep the dates up to end. -#}
    {%- set end_date = 'least(cast(' ~ end_date ~ ' as date), cast('
                       ~ mlmodels.observed_until() ~ ' as date))' -%}
    select as_of_date from (
        select cast(date_{{ cadence }} as date) as as_of_date
        from (
            {{ dbt.date_spine(cadence, "cast('" ~ start_date ~ "' as date)",
                              dbt.dateadd(cadence, 1, 'cast(' ~ end_date ~ ' as date)')) }}
        ) as spine
    ) as dates
    where as_of_date <= cast({{ end_date }} as date)
{%- endmacro %}
