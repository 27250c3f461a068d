{#- The nodes of one ML model, each from its spec (mlmodels.model_spec): what a generated file
    calls with the model's name and the refs dbt needs to order the build. Tables are named by
    convention: ml_<name>__scores, ml_<name>__feature_drift, ... -#}

{% macro ml_training_set(model_name, mart, events) -%}
    {%- set spec = mlmodels.model_spec(model_name) -%}
    {%- set label = spec.label -%}
    {%- if execute and label is none -%}
        {{ exceptions.raise_compiler_error("model '" ~ model_name ~ "' has no label in its spec: "
            ~ "a snapshot model's training set is mlmodels.ml_snapshot_training_set") }}
    {%- endif -%}
    {{ mlmodels.check_spec_ref(spec, 'label.mart', mart, label.mart) }}
    {{ mlmodels.check_spec_ref(spec, 'label.events', events, label.events) }}
    {{ return(mlmodels.training_set(
        mart=mart, events=events, entity_key=spec.entity_key, as_of=spec.as_of,
        timestamp=label.timestamp, horizon_days=label.horizon_days, label_name=spec.target,
        where=label.where, value=label.value, valid_periods=spec.valid_periods,
        test_periods=spec.test_periods, embargo_days=spec.embargo_days, absent=label.absent)) }}
{%- endmacro %}

{% macro ml_snapshot_training_set(model_name, mart) -%}
    {%- set spec = mlmodels.model_spec(model_name) -%}
    {{ mlmodels.check_spec_ref(spec, 'snapshot.mart', mart, spec.snapshot_mart) }}
    {{ return(mlmodels.snapshot_training_set(mart=mart, target=spec.target,
                                             score_where=spec.score_where)) }}
{%- endmacro %}

{% macro ml_predictions(model_name, training_set) -%}
    {%- set spec = mlmodels.model_spec(model_name) -%}
    {{ mlmodels.check_spec_ref(spec, 'training_set', training_set, spec.training_set) }}
    {{ return(mlmodels.predictions(
        scores=ref('ml_' ~ model_name ~ '__scores'), training_set=training_set,
        entity_key=spec.entity_key, as_of=spec.score_column, attributes=spec.attributes,
        snapshot=spec.snapshot, capacity=spec.get('capacity'),
        capacity_share=spec.get('capacity_share'))) }}
{%- endmacro %}

{% macro ml_feature_drift(model_name, rows) -%}
    {%- set spec = mlmodels.model_spec(model_name) -%}
    {{ mlmodels.check_spec_ref(spec, 'training_set', rows, spec.training_set) }}
    {{ return(mlmodels.feature_psi(
        reference_bins=ref('ml_reference_bins'), registry=ref('ml_model_registry'), rows=rows,
        model_name=model_name, as_of_col=spec.score_column, moderate=spec.drift_moderate,
        drift=spec.drift_threshold, scores=ref('ml_' ~ model_name ~ '__scores'),
        entity_key=spec.entity_key)) }}
{%- endmacro %}

{% macro ml_prediction_drift(model_name) -%}
    {%- set spec = mlmodels.model_spec(model_name) -%}
    {{ return(mlmodels.prediction_psi(
        reference_bins=ref('ml_reference_bins'), scores=ref('ml_' ~ model_name ~ '__scores'),
        model_name=model_name, as_of_col=spec.score_column, moderate=spec.drift_moderate,
        drift=spec.drift_threshold)) }}
{%- endmacro %}

{% macro ml_realised_performance(model_name, training_set) -%}
    {%- set spec = mlmodels.model_spec(model_name) -%}
    {{ mlmodels.check_spec_ref(spec, 'training_set', training_set, spec.training_set) }}
    {{ return(mlmodels.realised_performance(
        scores=ref('ml_' ~ model_name ~ '__scores'), training_set=training_set,
        registry=ref('ml_model_registry'), model_name=model_name, entity_key=spec.entity_key,
        label=spec.target, as_of_col=spec.score_column, task=spec.task,
        snapshot=spec.snapshot)) }}
{%- endmacro %}

{% macro ml_retrain_signal(model_name) -%}
    {%- set spec = mlmodels.model_spec(model_name) -%}
    {{ return(mlmodels.retrain_signal(
        scores=ref('ml_' ~ model_name ~ '__scores'),
        feature_drift=ref('ml_' ~ model_name ~ '__feature_drift'),
        realised=ref('ml_' ~ model_name ~ '__realised_performance'),
        evaluation_metrics=ref('ml_evaluation__metrics'), model_name=model_name,
        as_of_col=spec.score_column, tier1=spec.tier1, task=spec.task,
        drift_threshold=spec.drift_threshold, performance_margin=spec.performance_margin,
        rate_gap=spec.rate_gap, rate_window=spec.rate_window)) }}
{%- endmacro %}

{% macro ml_rescore_cleanup(model_name, rows) -%}
    {%- set spec = mlmodels.model_spec(model_name) -%}
    {{ return(mlmodels.rescore_cleanup(model_name, spec.as_of, rows)) }}
{%- endmacro %}
