{#- How each model version really did, per as_of, once the labels of the rows it scored matured:
    the scores joined to the training set's label where is_label_mature.

    Classification: ROC AUC by ranks (Mann-Whitney, ties at their average rank, as
    sklearn.metrics.roc_auc_score), PR AUC as average precision (sum over distinct scores, from
    the highest, of the recall gained times the precision there, as
    sklearn.metrics.average_precision_score), precision / recall / F1 at the registered threshold,
    the mean score (predicted_rate) against the share of positives (actual_rate).
    Regression: RMSE, MAE, R2 and the mean prediction against the mean actual.
    `period` places the as_of in the version's own windows: embargo, valid, test, or live (after
    its test window), so a dashboard can tell replayed history from live predictions. -#}
{% macro realised_performance(scores, training_set, registry, model_name, entity_key, label,
                              as_of_col='as_of_date', task='binary_classification',
                              snapshot=false) -%}
    {{ return(adapter.dispatch('realised_performance', 'mlmodels')(
        scores, training_set, registry, model_name, entity_key, label, as_of_col, task,
        snapshot)) }}
{%- endmacro %}

{#- snapshot=true (a snapshot model): the rows scored at an earlier snapshot date against the
    label this build's snapshot records for the entity (what became of them since). -#}
{% macro default__realised_performance(scores, training_set, registry, model_name, entity_key,
                                       label, as_of_col, task, snapshot=false) -%}
{%- set classifier = task == 'binary_classification' -%}
with scored as (
    select
        scores.model_version,
        -- rows scored before the registry's word was used say 'shadow'
        case when scores.role = 'shadow' then 'challenger' else scores.role end as role,
        scores.{{ as_of_col }},
        scores.score,
        scores.threshold,
        scores.predicted_label,
        cast(rows_in.{{ label }} as double) as actual
    from {{ scores }} as scores
    inner join {{ training_set }} as rows_in
        on rows_in.{{ entity_key }} = scores.{{ entity_key }}
        {%- if not snapshot %}
        and rows_in.{{ as_of_col }} = scores.{{ as_of_col }}
        {%- endif %}
    where scores.model_name = '{{ model_name }}'
        {%- if snapshot %}
        and scores.{{ as_of_col }} < {{ mlmodels.snapshot_date() }}
        {%- else %}
        and rows_in.is_label_mature
        {%- endif %}
        and rows_in.{{ label }} is not null
),

{%- if classifier %}

ranked as (
    -- ties share their average rank: (lowest + highest rank of the tie) / 2
    select
        *,
        rank() over (partition by model_version, {{ as_of_col }} order by score)
            + (count(*) over (partition by model_version, {{ as_of_col }}, score) - 1) / 2.0
            as score_rank
    from scored
),

by_score as (
    -- one row per distinct score: what a threshold there adds to the predicted positives
    select
        model_version,
        {{ as_of_col }},
        score,
        sum(actual) as positives_here,
        count(*) as rows_here
    from scored
    group by model_version, {{ as_of_col }}, score
),

precision_at_scores as (
    select
        model_version,
        {{ as_of_col }},
        positives_here,
        sum(positives_here) over descending_scores
            / sum(rows_here) over descending_scores as precision_here
    from by_score
    window descending_scores as (
        partition by model_version, {{ as_of_col }} order by score desc
        rows between unbounded preceding and current row)
),

average_precision as (
    select
        model_version,
        {{ as_of_col }},
        sum(positives_here * precision_here) / nullif(sum(positives_here), 0) as pr_auc
    from precision_at_scores
    group by model_version, {{ as_of_col }}
),

performance as (
    select
        model_version,
        {{ as_of_col }},
        max(role) as role,
        count(*) as labelled_rows,
        sum(actual) as positives,
        avg(actual) as actual_rate,
        avg(score) as predicted_rate,
        avg(predicted_label) as predicted_positive_share,
        (sum(case when actual = 1 then score_rank end) - sum(actual) * (sum(actual) + 1) / 2.0)
            / nullif(sum(actual) * (count(*) - sum(actual)), 0) as roc_auc,
        sum(case when predicted_label = 1 and actual = 1 then 1 else 0 end) as true_positives,
        sum(predicted_label) as predicted_positives,
        max(threshold) as threshold
    from ranked
    group by model_version, {{ as_of_col }}
),

metrics as (
    select
        performance.*,
        average_precision.pr_auc,
        true_positives * 1.0 / nullif(predicted_positives, 0) as precision,
        true_positives * 1.0 / nullif(positives, 0) as recall
    from performance
    inner join average_precision using (model_version, {{ as_of_col }})
),

{%- else %}

metrics as (
    select
        model_version,
        {{ as_of_col }},
        max(role) as role,
        count(*) as labelled_rows,
        sqrt(avg((score - actual) * (score - actual))) as rmse,
        avg(abs(score - actual)) as mae,
        1 - sum((score - actual) * (score - actual))
            / nullif(sum((actual - mean_actual) * (actual - mean_actual)), 0) as r2,
        avg(score) as mean_prediction,
        avg(actual) as mean_actual
    from (
        select *, avg(actual) over (partition by model_version, {{ as_of_col }}) as mean_actual
        from scored
    ) as with_mean
    group by model_version, {{ as_of_col }}
),

{%- endif %}

versions as (
    select model_version, valid_from, valid_to, test_from, test_to
    from {{ registry }}
    where model_name = '{{ model_name }}'
)

select
    '{{ model_name }}' as model_name,
    metrics.model_version,
    metrics.role,
    metrics.{{ as_of_col }},
    case
        when versions.valid_from is null then 'live'
        when metrics.{{ as_of_col }} < versions.valid_from then 'embargo'
        when metrics.{{ as_of_col }} <= versions.valid_to then 'valid'
        when metrics.{{ as_of_col }} < versions.test_from then 'embargo'
        when metrics.{{ as_of_col }} <= versions.test_to then 'test'
        else 'live'
    end as period,
    metrics.labelled_rows,
    {%- if classifier %}
    cast(metrics.positives as bigint) as positives,
    metrics.actual_rate,
    metrics.predicted_rate,
    metrics.predicted_positive_share,
    metrics.roc_auc,
    metrics.pr_auc,
    metrics.precision,
    metrics.recall,
    2 * metrics.precision * metrics.recall / nullif(metrics.precision + metrics.recall, 0) as f1,
    metrics.threshold,
    cast(null as double) as rmse,
    cast(null as double) as mae,
    cast(null as double) as r2,
    metrics.predicted_rate as mean_prediction,
    metrics.actual_rate as mean_actual
    {%- else %}
    cast(null as bigint) as positives,
    cast(null as double) as actual_rate,
    cast(null as double) as predicted_rate,
    cast(null as double) as predicted_positive_share,
    cast(null as double) as roc_auc,
    cast(null as double) as pr_auc,
    cast(null as double) as precision,
    cast(null as double) as recall,
    cast(null as double) as f1,
    cast(null as double) as threshold,
    metrics.rmse,
    metrics.mae,
    metrics.r2,
    metrics.mean_prediction,
    metrics.mean_actual
    {%- endif %}
from metrics
left join versions on versions.model_version = metrics.model_version
{%- endmacro %}
