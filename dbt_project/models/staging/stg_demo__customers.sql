-- The trap column cancelled_at is deliberately not selected: it is known only after the outcome,
-- so nothing downstream of staging can use it as a feature by accident.
select distinct
    cast(customer_id as bigint) as customer_id,
    cast(signup_at as timestamp) as signup_at,
    cast(region as {{ dbt.type_string() }}) as region,
    cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel
from {{ source('demo', 'customers') }}
