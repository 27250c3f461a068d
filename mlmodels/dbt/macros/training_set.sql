{#- The rows of a time-indexed ML model: the feature mart plus its label, label maturity and split.

    label_name is computed from `events` (rows for the same entity_key) inside the label window
    [as_of, as_of + horizon_days): 1 if any event matches `where` (value none), else the sum of
    `value` over the matching events (0 when there are none); with absent=true it is 1 when NO
    event matches (churn as "no purchase in the window"). The label is null, and the split
    `score`, until the window has closed before the last event of `events` (observed time).
    `mlmodels new <name>` writes the call to this macro from the spec's label and split fields. -#}
{% macro training_set(mart, events, entity_key, as_of, timestamp, horizon_days, label_name,
                      where='true', value=none, valid_periods=3, test_periods=3,
                      embargo_days=none, absent=false) -%}
    {{ return(adapter.dispatch('training_set', 'mlmodels')(
        mart, events, entity_key, as_of, timestamp, horizon_days, label_name, where, value,
        valid_periods, test_periods, embargo_days, absent)) }}
{%- endmacro %}

{% macro default__training_set(mart, events, entity_key, as_of, timestamp, horizon_days, label_name,
                               where, value, valid_periods, test_periods, embargo_days,
                               absent=false) -%}
with label_events as (
    select
        {{ entity_key }} as label_entity,
        {{ timestamp }} as label_at,
        {{ value if value is not none else '1' }} as label_value
    from {{ events }}
    where {{ where }}
),

observed as (
    -- never later than the observed end of the data: a future timestamp matures no label
    select least(max({{ timestamp }}), {{ mlmodels.observed_until() }}) as observed_until
    from {{ events }}
),

labelled as (
    select
        mart.*,
        {{ mlmodels.label_is_mature('mart.' ~ as_of, horizon_days, 'observed.observed_until') }}
            as is_label_mature,
        case
            when {{ mlmodels.label_is_mature('mart.' ~ as_of, horizon_days, 'observed.observed_until') }}
            then
            {%- if value is none %}
                case when exists (
                    select 1 from label_events
                    where label_events.label_entity = mart.{{ entity_key }}
                        and {{ mlmodels.label_window('label_events.label_at', 'mart.' ~ as_of, horizon_days) }}
                ) then {{ 0 if absent else 1 }} else {{ 1 if absent else 0 }} end
            {%- else %}
                coalesce((
                    select sum(label_events.label_value) from label_events
                    where label_events.label_entity = mart.{{ entity_key }}
                        and {{ mlmodels.label_window('label_events.label_at', 'mart.' ~ as_of, horizon_days) }}
                ), 0)
            {%- endif %}
        end as {{ label_name }}
    from {{ mart }} as mart
    cross join observed
)

select * from (
    {{ mlmodels.time_split('labelled', as_of, 'is_label_mature',
                           embargo_days if embargo_days is not none else horizon_days,
                           valid_periods, test_periods) }}
) as split_rows
{%- endmacro %}
