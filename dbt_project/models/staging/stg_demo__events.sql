-- `distinct` removes the exact duplicate rows that double loads leave in the raw log.
-- Money is a decimal: sums of decimals are exact, so features do not depend on the order in which
-- a parallel aggregate happens to add them (double sums can differ in the last bit run to run).
select distinct
    cast(event_id as bigint) as event_id,
    cast(customer_id as bigint) as customer_id,
    cast(event_type as {{ dbt.type_string() }}) as event_type,
    cast(occurred_at as timestamp) as occurred_at,
    cast(amount as decimal(18, 2)) as amount
from {{ source('demo', 'events') }}
