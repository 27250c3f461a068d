select distinct
    cast(customer_id as bigint) as customer_id,
    cast(plan as {{ dbt.type_string() }}) as plan,
    cast(valid_from as timestamp) as valid_from
from {{ source('demo', 'plan_history') }}
