{#- Whether a model should be retrained, one row per as_of its champion scored, with the reasons:

    1. drift: PSI at or above `drift_threshold` on a tier-1 feature at that as_of;
    2. performance: the latest realised performance known at that as_of (the last matured as_of
       at or before it) is worse than the version's test performance by more than
       `performance_margin`: ROC AUC lower by more than the margin (classification), RMSE higher
       by more than the margin as a fraction (regression);
    3. calibration: over the last `rate_window` matured as_ofs, the mean prediction (the predicted
       positive rate of a classifier) and the mean actual are apart by more than `rate_gap` as a
       fraction of the actual.

    The train step of a spec with `monitoring: {retrain_on_signal: true}` reads the latest row on
    the next build. -#}
{% macro retrain_signal(scores, feature_drift, realised, evaluation_metrics, model_name,
                        as_of_col='as_of_date', tier1=[], task='binary_classification',
                        drift_threshold=0.2, performance_margin=0.05, rate_gap=0.15,
                        rate_window=3) -%}
    {{ return(adapter.dispatch('retrain_signal', 'mlmodels')(
        scores, feature_drift, realised, evaluation_metrics, model_name, as_of_col, tier1, task,
        drift_threshold, performance_margin, rate_gap, rate_window)) }}
{%- endmacro %}

{% macro default__retrain_signal(scores, feature_drift, realised, evaluation_metrics, model_name,
                                 as_of_col, tier1, task, drift_threshold, performance_margin,
                                 rate_gap, rate_window) -%}
{%- set classifier = task == 'binary_classification' -%}
{%- set metric = 'roc_auc' if classifier else 'rmse' -%}
with champion_as_ofs as (
    select distinct model_version, {{ as_of_col }}
    from {{ scores }}
    where model_name = '{{ model_name }}' and role = 'champion'
),

tier1_drift as (
    select
        model_version,
        {{ as_of_col }},
        max(psi) as max_tier1_psi,
        -- nullif: with no feature over the threshold, DuckDB's aggregate is null, Spark's ''.
        nullif({{ dbt.listagg(
            "case when psi >= " ~ drift_threshold ~ " then feature || ' ' || cast(round(psi, 3) as "
            ~ dbt.type_string() ~ ") end",
            "', '", "order by psi desc") }}, '') as drifted_tier1_features
    from {{ feature_drift }}
    where model_name = '{{ model_name }}'
        and feature in ('{{ tier1 | join("', '") }}')
    group by model_version, {{ as_of_col }}
),

test_performance as (
    select model_version, max(value) as test_value
    from {{ evaluation_metrics }}
    where model_name = '{{ model_name }}'
        and model = 'model' and split = 'test' and metric = '{{ metric }}'
    group by model_version
),

realised_rolling as (
    select
        model_version,
        {{ as_of_col }} as performance_as_of,
        {{ metric }} as realised_value,
        sum(mean_prediction * labelled_rows) over recent / sum(labelled_rows) over recent
            as rolling_predicted_rate,
        sum(mean_actual * labelled_rows) over recent / sum(labelled_rows) over recent
            as rolling_actual_rate,
        count(*) over recent as rolling_as_ofs
    from {{ realised }}
    where model_name = '{{ model_name }}'
    window recent as (
        partition by model_version order by {{ as_of_col }}
        rows between {{ rate_window - 1 }} preceding and current row)
),

latest_known as (
    select
        champion_as_ofs.model_version,
        champion_as_ofs.{{ as_of_col }},
        max(realised_rolling.performance_as_of) as performance_as_of
    from champion_as_ofs
    left join realised_rolling
        on realised_rolling.model_version = champion_as_ofs.model_version
        and realised_rolling.performance_as_of <= champion_as_ofs.{{ as_of_col }}
    group by champion_as_ofs.model_version, champion_as_ofs.{{ as_of_col }}
),

checks as (
    select
        latest_known.model_version,
        latest_known.{{ as_of_col }},
        tier1_drift.max_tier1_psi,
        tier1_drift.drifted_tier1_features,
        latest_known.performance_as_of,
        realised_rolling.realised_value,
        test_performance.test_value,
        realised_rolling.rolling_predicted_rate,
        realised_rolling.rolling_actual_rate,
        realised_rolling.rolling_as_ofs,
        abs(realised_rolling.rolling_predicted_rate - realised_rolling.rolling_actual_rate)
            / nullif(abs(realised_rolling.rolling_actual_rate), 0) as rate_gap,
        coalesce(tier1_drift.max_tier1_psi >= {{ drift_threshold }}, false) as drift_reason,
        {%- if classifier %}
        coalesce(realised_rolling.realised_value
                 < test_performance.test_value - {{ performance_margin }}, false)
        {%- else %}
        coalesce(realised_rolling.realised_value
                 > test_performance.test_value * (1 + {{ performance_margin }}), false)
        {%- endif %}
            as performance_reason,
        coalesce(
            abs(realised_rolling.rolling_predicted_rate - realised_rolling.rolling_actual_rate)
                > {{ rate_gap }} * abs(realised_rolling.rolling_actual_rate),
            false) as rate_reason
    from latest_known
    left join tier1_drift
        on tier1_drift.model_version = latest_known.model_version
        and tier1_drift.{{ as_of_col }} = latest_known.{{ as_of_col }}
    left join realised_rolling
        on realised_rolling.model_version = latest_known.model_version
        and realised_rolling.performance_as_of = latest_known.performance_as_of
    left join test_performance
        on test_performance.model_version = latest_known.model_version
)

select
    '{{ model_name }}' as model_name,
    model_version,
    {{ as_of_col }},
    drift_reason or performance_reason or rate_reason as retrain_recommended,
    -- Each reason that holds, after '; ', then the leading '; ' cut off ('' when none hold):
    -- concat_ws would do it on DuckDB, but it is NULL on Snowflake when any part is.
    substring(
        coalesce(case when drift_reason then
            '; tier-1 feature drift (PSI >= {{ drift_threshold }}): ' || drifted_tier1_features
        end, '')
        || coalesce(case when performance_reason then
            '; realised {{ metric }} ' || cast(round(realised_value, 3) as {{ dbt.type_string() }})
            || ' at ' || cast(performance_as_of as {{ dbt.type_string() }})
            || ' is worse than test ' || cast(round(test_value, 3) as {{ dbt.type_string() }})
            || ' by more than {{ performance_margin }}'
            {%- if not classifier %} || ' (relative)'{% endif %}
        end, '')
        || coalesce(case when rate_reason then
            '; mean prediction ' || cast(round(rolling_predicted_rate, 3) as {{ dbt.type_string() }})
            || ' vs actual ' || cast(round(rolling_actual_rate, 3) as {{ dbt.type_string() }})
            || ' over ' || cast(rolling_as_ofs as {{ dbt.type_string() }}) || ' matured as_of(s) to '
            || cast(performance_as_of as {{ dbt.type_string() }}) || ': apart by more than '
            || cast({{ rate_gap * 100 }} as {{ dbt.type_string() }}) || '%'
        end, ''),
        3) as reasons,
    drift_reason,
    performance_reason,
    rate_reason,
    max_tier1_psi,
    drifted_tier1_features,
    performance_as_of,
    '{{ metric }}' as performance_metric,
    realised_value,
    test_value,
    rolling_predicted_rate,
    rolling_actual_rate,
    rate_gap
from checks
{%- endmacro %}
