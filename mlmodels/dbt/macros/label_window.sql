{#- The label window of a cutoff: [as_of, as_of + horizon_days). Read with pit_window it splits time
    in two without gap or overlap: features see ts < as_of, labels see as_of <= ts < as_of + horizon. -#}
{% macro label_window(ts, as_of, horizon_days) -%}
    {{ return(adapter.dispatch('label_window', 'mlmodels')(ts, as_of, horizon_days)) }}
{%- endmacro %}

{% macro default__label_window(ts, as_of, horizon_days) -%}
    ({{ ts }} >= {{ as_of }} and {{ ts }} < {{ dbt.dateadd('day', horizon_days, as_of) }})
{%- endmacro %}

{#- True when the whole label window lies inside observed time, so the label is known. -#}
{% macro label_is_mature(as_of, horizon_days, observed_until) -%}
    {{ return(adapter.dispatch('label_is_mature', 'mlmodels')(as_of, horizon_days, observed_until)) }}
{%- endmacro %}

{% macro default__label_is_mature(as_of, horizon_days, observed_until) -%}
    ({{ dbt.dateadd('day', horizon_days, as_of) }} <= {{ observed_until }})
{%- endmacro %}
