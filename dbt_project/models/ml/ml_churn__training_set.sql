{%- set horizon_days = 90 -%}

with cancellations as (
    select customer_id, occurred_at
    from {{ ref('stg_demo__events') }}
    where event_type = 'cancellation'
),

observed as (
    select max(occurred_at) as observed_until from {{ ref('stg_demo__events') }}
),

labelled as (
    select
        mart.*,
        {{ mlmodels.label_is_mature('mart.as_of_date', horizon_days, 'observed.observed_until') }}
            as is_label_mature,
        case
            when {{ mlmodels.label_is_mature('mart.as_of_date', horizon_days, 'observed.observed_until') }}
                then case when exists (
                    select 1 from cancellations
                    where cancellations.customer_id = mart.customer_id
                        and {{ mlmodels.label_window(
                            'cancellations.occurred_at', 'mart.as_of_date', horizon_days) }}
                ) then 1 else 0 end
        end as churned_90d
    from {{ ref('feat_customer__as_of') }} as mart
    cross join observed
)

select * from (
    {{ mlmodels.time_split('labelled', 'as_of_date', 'is_label_mature', embargo_days=horizon_days) }}
) as split_rows
