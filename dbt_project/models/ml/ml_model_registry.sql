{#- Every version ever trained, kept across runs: incremental, and full_refresh is off so that
    `dbt build --full-refresh` cannot wipe it. A new version becomes champion only when its model
    has none yet; otherwise it is a challenger and the champion stays. -#}
{{ config(materialized='incremental', unique_key='model_version', full_refresh=false,
          on_schema_change='append_new_columns') }}

with trained as (
    select * from {{ ref('ml_churn__train') }}
),

has_champion as (
    {%- if is_incremental() %}
    select distinct model_name from {{ this }} where status = 'champion'
    {%- else %}
    select cast(null as varchar) as model_name where false
    {%- endif %}
)

select
    trained.*,
    case when has_champion.model_name is null then 'champion' else 'challenger' end as status,
    case
        when has_champion.model_name is null then 'first version of the model'
        else 'the model already has a champion'
    end as reason,
    cast(current_timestamp as timestamp) as registered_at,
    case when has_champion.model_name is null then cast(current_timestamp as timestamp) end
        as promoted_at
from trained
left join has_champion on has_champion.model_name = trained.model_name
{%- if is_incremental() %}
where trained.model_version not in (select model_version from {{ this }})
{%- endif %}
