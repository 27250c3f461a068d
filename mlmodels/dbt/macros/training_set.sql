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

{#- Portable: the label comes from ANSI joins and a group by, not from a correlated subquery
    (engines differ in where they accept one). The mart's distinct (entity, as_of) keys are joined
    to the label events in their window and aggregated per key, then left-joined back: several
    events in one window never multiply rows, and a key with none finds no match (label 0, or 1
    when absent; a sum of 0). -#}
{% macro default__training_set(mart, events, entity_key, as_of, timestamp, horizon_days, label_name,
                               where, value, valid_periods, test_periods, embargo_days,
                               absent=false) -%}
{%- set is_mature = mlmodels.label_is_mature('mart.' ~ as_of, horizon_days,
                                             'observed.observed_until') -%}
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

label_keys as (
    select distinct
        {{ entity_key }} as label_entity,
        {{ as_of }} as label_as_of
    from {{ mart }} as mart
),

window_labels as (
    -- one row per key with at least one label event in its window
    select
        label_keys.label_entity,
        label_keys.label_as_of,
        count(*) as window_events{% if value is not none %},
        sum(label_events.label_value) as window_value{% endif %}
    from label_keys
    inner join label_events
        on label_events.label_entity = label_keys.label_entity
        and {{ mlmodels.label_window('label_events.label_at', 'label_keys.label_as_of',
                                     horizon_days) }}
    group by label_keys.label_entity, label_keys.label_as_of
),

labelled as (
    select
        mart.*,
        {{ is_mature }} as is_label_mature,
        case
            when {{ is_mature }}
            then
            {%- if value is none %}
                case when window_labels.window_events > 0
                    then {{ 0 if absent else 1 }} else {{ 1 if absent else 0 }} end
            {%- else %}
                coalesce(window_labels.window_value, 0)
            {%- endif %}
        end as {{ label_name }}
    from {{ mart }} as mart
    cross join observed
    left join window_labels
        on window_labels.label_entity = mart.{{ entity_key }}
        and window_labels.label_as_of = mart.{{ as_of }}
)

select * from (
    {{ mlmodels.time_split('labelled', as_of, 'is_label_mature',
                           embargo_days if embargo_days is not none else horizon_days,
                           valid_periods, test_periods) }}
) as split_rows
{%- endmacro %}
