{#- The point-in-time guard: true when `ts` lies strictly before the cutoff `as_of` (a date, read as
    midnight) and, when `days` is given, no more than `days` days before it. `offset_days` moves the
    window's end back (a 30-day window with offset 30 is days 31-60 before as_of, for trends).
    Every feature over events must filter with this macro: it is the one place leakage is prevented. -#}
{% macro pit_window(ts, as_of, days=none, offset_days=0) -%}
    {{ return(adapter.dispatch('pit_window', 'mlmodels')(ts, as_of, days, offset_days)) }}
{%- endmacro %}

{% macro default__pit_window(ts, as_of, days=none, offset_days=0) -%}
    {%- set window_end = as_of if offset_days == 0 else dbt.dateadd('day', -offset_days, as_of) -%}
    ({{ ts }} < {{ window_end }}
    {%- if days is not none %} and {{ ts }} >= {{ dbt.dateadd('day', -(days + offset_days), as_of) }}{% endif %})
{%- endmacro %}

{#- Sum of `value` over the rows whose `ts` lies in pit_window(ts, as_of, days, offset_days);
    0 when there are none, and NULL when any of them has a NULL `value`. For aggregating a left
    join of events onto an (entity, as_of) spine. An unknown amount makes the sum unknown: a
    source whose amounts go missing shows as missing features (which the gates bound and the
    drift tables count), never as quietly smaller sums. Coalesce `value` to sum what is known. -#}
{% macro pit_window_sum(value, ts, as_of, days, offset_days=0) -%}
    {{ return(adapter.dispatch('pit_window_sum', 'mlmodels')(value, ts, as_of, days, offset_days)) }}
{%- endmacro %}

{% macro default__pit_window_sum(value, ts, as_of, days, offset_days=0) -%}
    {%- set in_window = mlmodels.pit_window(ts, as_of, days, offset_days) -%}
    case when count(case when {{ in_window }} and {{ value }} is null then 1 end) = 0
        then coalesce(sum(case when {{ in_window }} then {{ value }} end), 0) end
{%- endmacro %}
