{#- The BI-facing predictions of a model: its scores joined to the entity attributes a dashboard
    filters by (taken from the training set at the same as_of), ranked per version and as_of,
    with the rows the decision acts on flagged.

    score_rank: 1 for the highest score of a version at an as_of; equal scores are ordered by the
    entity key, ascending, so the ranking (and who is selected at a tie) is the same every run.
    A regression model is ranked by its predicted value, highest first.
    decision_capacity: how many rows the decision acts on: capacity (at most the rows scored),
    or ceil(capacity_share * rows scored); null when the spec gives neither.
    is_selected: score_rank <= decision_capacity; without a capacity, a classifier selects the
    rows at or above the threshold (predicted_label = 1) and a regression model none (null).
    risk_band: with a capacity, by rank: high = selected, medium = the next decision_capacity
    rows, low = the rest; without one, by score: high at or above the threshold, low below
    (null for a regression model). -#}
{% macro predictions(scores, training_set, entity_key, as_of, attributes=[], snapshot=false,
                     capacity=none, capacity_share=none) -%}
    {%- if capacity is not none and capacity_share is not none -%}
        {{ exceptions.raise_compiler_error(
            "predictions: capacity (" ~ capacity ~ ") or capacity_share (" ~ capacity_share
            ~ "), not both") }}
    {%- endif -%}
    {{ return(adapter.dispatch('predictions', 'mlmodels')(
        scores, training_set, entity_key, as_of, attributes, snapshot, capacity,
        capacity_share)) }}
{%- endmacro %}

{#- snapshot=true: the attributes are the entity's in this build's snapshot (a snapshot model's
    rows hold one snapshot only). -#}
{% macro default__predictions(scores, training_set, entity_key, as_of, attributes,
                              snapshot=false, capacity=none, capacity_share=none) -%}
with ranked as (
    select
        scores.*,
        row_number() over (
            partition by scores.model_version, scores.{{ as_of }}
            order by scores.score desc, scores.{{ entity_key }}
        ) as score_rank,
        count(*) over (partition by scores.model_version, scores.{{ as_of }}) as rows_scored
    from {{ scores }} as scores
),

decided as (
    select
        ranked.*,
        {%- if capacity is not none %}
        cast(least({{ capacity | int }}, ranked.rows_scored) as {{ dbt.type_bigint() }})
        {%- elif capacity_share is not none %}
        cast(ceil({{ capacity_share | float }} * ranked.rows_scored) as {{ dbt.type_bigint() }})
        {%- else %}
        cast(null as {{ dbt.type_bigint() }})
        {%- endif %}
            as decision_capacity
    from ranked
)

select
    scores.model_name,
    scores.model_version,
    -- rows scored before the registry's word was used say 'shadow': one name, the registry's
    case when scores.role = 'shadow' then 'challenger' else scores.role end as role,
    scores.{{ entity_key }},
    scores.{{ as_of }},
    scores.score,
    scores.threshold,
    scores.predicted_label,
    scores.score_rank,
    scores.decision_capacity,
    {%- if capacity is not none or capacity_share is not none %}
    scores.score_rank <= scores.decision_capacity as is_selected,
    case
        when scores.score_rank <= scores.decision_capacity then 'high'
        when scores.score_rank <= 2 * scores.decision_capacity then 'medium'
        else 'low'
    end as risk_band,
    {%- else %}
    case when scores.threshold is not null then scores.score >= scores.threshold end
        as is_selected,
    case
        when scores.threshold is null then null
        when scores.score >= scores.threshold then 'high'
        else 'low'
    end as risk_band,
    {%- endif %}
    -- reason codes (spec explain.top_k; null without explanations), from the scores
    scores.reasons,
    scores.reason_features,
    scores.reason_contributions,
    {%- for attribute in attributes %}
    rows_in.{{ attribute }},
    {%- endfor %}
    scores.backfill,
    scores.scored_at
from decided as scores
-- left join: a rebuilt training set that no longer holds an old as_of drops no prediction
left join {{ training_set }} as rows_in
    on rows_in.{{ entity_key }} = scores.{{ entity_key }}
    {%- if not snapshot %}
    and rows_in.{{ as_of }} = scores.{{ as_of }}
    {%- endif %}
{%- endmacro %}
