{#- The as_of grid: one date per `cadence` (day | week | month) from start_date up to end_date,
    start_date + k cadences for k = 0, 1, ... (Jan 31 + 2 months is Mar 31). end_date may be an
    SQL expression such as a scalar subquery over the event log, or over a CTE of the model: the
    periods are counted by the query itself, not by a query when the model compiles (dbt's
    date_spine does that, so its end cannot name a CTE, and a dbt unit test of a model using it
    must override `get_intervals_between`: the fixtures are not there yet). The grid never passes
    the observed end of the data (mlmodels.observed_until): an event stamped in the future
    cannot create as_ofs. -#}
{% macro as_of_dates(start_date, end_date, cadence='month') -%}
    {%- if cadence not in ['day', 'week', 'month'] -%}
        {{ exceptions.raise_compiler_error(
            "as_of_dates: cadence must be day, week or month, got '" ~ cadence ~ "'") }}
    {%- endif -%}
    {%- set end_date = 'least(cast(' ~ end_date ~ ' as date), cast('
                       ~ mlmodels.observed_until() ~ ' as date))' -%}
    {{ return(adapter.dispatch('as_of_dates', 'mlmodels')(start_date, end_date, cadence)) }}
{%- endmacro %}

{#- Portable: dbt's generate_series makes a fixed number of steps, the query keeps the first
    `periods`. At most 100,000 as_ofs (274 years of days): a longer grid stops there. -#}
{% macro default__as_of_dates(start_date, end_date, cadence) -%}
    {{ mlmodels.as_of_grid(start_date, end_date, cadence,
        '(select generated_number - 1 as step from (' ~ dbt.generate_series(100000)
        ~ ') as series where generated_number <= {periods})') }}
{%- endmacro %}

{% macro duckdb__as_of_dates(start_date, end_date, cadence) -%}
    {{ mlmodels.as_of_grid(start_date, end_date, cadence,
                           '(select unnest(range(0, {periods})) as step)') }}
{%- endmacro %}

{% macro spark__as_of_dates(start_date, end_date, cadence) -%}
    {#- sequence(0, -1) counts down: no period at all still gives step 0, which the end drops -#}
    {{ mlmodels.as_of_grid(start_date, end_date, cadence,
                           '(select explode(sequence(0, greatest({periods} - 1, 0))) as step)') }}
{%- endmacro %}

{#- The dates start + k periods up to the end: `steps` is a subquery of one row per step 0, 1,
    ..., periods - 1 (`{periods}` in it is replaced by the count). As dbt's date_spine would
    count them, the periods span one more than datediff(start, end), since datediff drops the
    last as_of when the end is not on a period boundary; the dates past the end are dropped. -#}
{% macro as_of_grid(start_date, end_date, cadence, steps) -%}
    {%- set start = "cast('" ~ start_date ~ "' as date)" -%}
    {%- set periods = dbt.datediff(start, dbt.dateadd(cadence, 1, 'cast(' ~ end_date ~ ' as date)'),
                                   cadence) -%}
    select as_of_date from (
        select cast({{ dbt.dateadd(cadence, 'steps.step', start) }} as date) as as_of_date
        from {{ steps.replace('{periods}', '(' ~ periods ~ ')') }} as steps
    ) as dates
    where as_of_date <= cast({{ end_date }} as date)
{%- endmacro %}
