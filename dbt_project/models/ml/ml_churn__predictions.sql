-- The BI-facing predictions: the champion's score, the label at its registered threshold and the
-- attributes a dashboard filters by. One row per model_version, customer_id and as_of_date.
select
    scores.model_name,
    scores.model_version,
    scores.role,
    scores.customer_id,
    scores.as_of_date,
    scores.score,
    registry.threshold,
    cast(scores.score >= registry.threshold as integer) as predicted_label,
    mart.plan,
    mart.region,
    mart.acquisition_channel,
    scores.scored_at
from {{ ref('ml_churn__scores') }} as scores
inner join {{ ref('ml_model_registry') }} as registry
    on registry.model_version = scores.model_version
inner join {{ ref('feat_customer__as_of') }} as mart
    on mart.customer_id = scores.customer_id and mart.as_of_date = scores.as_of_date
