{#- The as_of grid: one date per `cadence` (day | week | month) from start_date up to end_date,
    start_date + k cadences for k = 0, 1, ... (Jan 31 + 2 months is Mar 31). end_date may be an
    SQL expression such as a scalar subquery over the event log. The grid never passes the
    observed end of the data (mlmodels.observed_until): an event stamped in the future cannot
    create as_ofs.

    On DuckDB and Spark the periods are counted by the query itself, so end_date may name a
    common table expression of the model (`(select max(occurred_at) from events)`, read once
    where the model reads the log anyway), and a dbt unit test of the model needs no override.
    Other adapters use dbt's date_spine, which counts the periods with a query when the model
    compiles: there end_date must be queryable on its own (a ref, not a CTE), and a unit test
    overrides `get_intervals_between`. -#}
{% macro as_of_dates(start_date, end_date, cadence='month') -%}
    {%- if cadence not in ['day', 'week', 'month'] -%}
        {{ exceptions.raise_compiler_error(
            "as_of_dates: cadence must be day, week or month, got '" ~ cadence ~ "'") }}
    {%- endif -%}
    {%- set end_date = 'least(cast(' ~ end_date ~ ' as date), cast('
                       ~ mlmodels.observed_until() ~ ' as date))' -%}
    {{ return(adapter.dispatch('as_of_dates', 'mlmodels')(start_date, end_date, cadence)) }}
{%- endmacro %}

{% macro default__as_of_dates(start_date, end_date, cadence) -%}
    {#- dbt's date_spine makes datediff(start, end) periods, which drops the last as_of when end
        is not on a period boundary: span one period more, then keep the dates up to end. -#}
    select as_of_date from (
        select cast(date_{{ cadence }} as date) as as_of_date
        from (
            {{ dbt.date_spine(cadence, "cast('" ~ start_date ~ "' as date)",
                              dbt.dateadd(cadence, 1, 'cast(' ~ end_date ~ ' as date)')) }}
        ) as spine
    ) as dates
    where as_of_date <= cast({{ end_date }} as date)
{%- endmacro %}

{% macro duckdb__as_of_dates(start_date, end_date, cadence) -%}
    {{ mlmodels.as_of_grid(start_date, end_date, cadence, 'unnest(range(0, {periods}))') }}
{%- endmacro %}

{% macro spark__as_of_dates(start_date, end_date, cadence) -%}
    {#- sequence(0, -1) counts down: no period at all still gives step 0, which the end drops -#}
    {{ mlmodels.as_of_grid(start_date, end_date, cadence,
                           'explode(sequence(0, greatest({periods} - 1, 0)))') }}
{%- endmacro %}

{#- The dates of date_spine's grid above, its periods counted in the query: `steps` turns the
    count (`{periods}` in it) into one row per step 0, 1, ..., count - 1. -#}
{% macro as_of_grid(start_date, end_date, cadence, steps) -%}
    {%- set start = "cast('" ~ start_date ~ "' as date)" -%}
    {%- set periods = dbt.datediff(start, dbt.dateadd(cadence, 1, 'cast(' ~ end_date ~ ' as date)'),
                                   cadence) -%}
    select as_of_date from (
        select cast({{ dbt.dateadd(cadence, 'step', start) }} as date) as as_of_date
        from (select {{ steps.replace('{periods}', '(' ~ periods ~ ')') }} as step) as steps
    ) as dates
    where as_of_date <= cast({{ end_date }} as date)
{%- endmacro %}
