{#- The BI-facing predictions of a model: its scores joined to the entity attributes a dashboard
    filters by (taken from the training set at the same as_of), with a risk band for classifiers:
    high at or above the registered threshold, medium from half of it, low below. -#}
{% macro predictions(scores, training_set, entity_key, as_of, attributes=[], snapshot=false) -%}
    {{ return(adapter.dispatch('predictions', 'mlmodels')(
        scores, training_set, entity_key, as_of, attributes, snapshot)) }}
{%- endmacro %}

{#- snapshot=true: the attributes are the entity's in this build's snapshot (a snapshot model's
    rows hold one snapshot only). -#}
{% macro default__predictions(scores, training_set, entity_key, as_of, attributes,
                              snapshot=false) -%}
select
    scores.model_name,
    scores.model_version,
    scores.role,
    scores.{{ entity_key }},
    scores.{{ as_of }},
    scores.score,
    scores.threshold,
    scores.predicted_label,
    case
        when scores.threshold is null then null
        when scores.score >= scores.threshold then 'high'
        when scores.score >= scores.threshold / 2 then 'medium'
        else 'low'
    end as risk_band,
    -- reason codes (spec explain.top_k; null without explanations), from the scores
    scores.reasons,
    scores.reason_features,
    scores.reason_contributions,
    {%- for attribute in attributes %}
    rows_in.{{ attribute }},
    {%- endfor %}
    scores.backfill,
    scores.scored_at
from {{ scores }} as scores
-- left join: a rebuilt training set that no longer holds an old as_of drops no prediction
left join {{ training_set }} as rows_in
    on rows_in.{{ entity_key }} = scores.{{ entity_key }}
    {%- if not snapshot %}
    and rows_in.{{ as_of }} = scores.{{ as_of }}
    {%- endif %}
{%- endmacro %}
