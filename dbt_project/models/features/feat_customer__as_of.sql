{%- set windows = [7, 30, 90, 180] -%}

with events as (
    select * from {{ ref('stg_demo__events') }}
),

as_of_dates as (
    {{ mlmodels.as_of_dates(
        var('as_of_start'),
        '(select max(occurred_at) from ' ~ ref('stg_demo__events') ~ ')',
        var('as_of_cadence')) }}
),

-- Customers who exist at the cutoff: signed up before it and not cancelled before it.
spine as (
    select
        customers.customer_id,
        as_of_dates.as_of_date,
        customers.signup_at,
        customers.region,
        customers.acquisition_channel
    from {{ ref('stg_demo__customers') }} as customers
    inner join as_of_dates
        on {{ mlmodels.pit_window('customers.signup_at', 'as_of_dates.as_of_date') }}
    left join events as cancellations
        on cancellations.customer_id = customers.customer_id
        and cancellations.event_type = 'cancellation'
        and {{ mlmodels.pit_window('cancellations.occurred_at', 'as_of_dates.as_of_date') }}
    where cancellations.customer_id is null
),

-- Orders rolled up per customer and day first: the windows below then join days, not orders.
daily_orders as (
    select
        customer_id,
        cast(occurred_at as date) as order_day,
        count(*) as orders,
        -- decimal: exact, whatever the order of addition. A day with an order of unknown amount
        -- has an unknown revenue (sum() would skip it and understate it without a trace).
        case when count(amount) = count(*) then sum(amount) end as revenue
    from events
    where event_type = 'order'
    group by customer_id, cast(occurred_at as date)
),

-- Running totals per customer up to and including each order day.
order_history as (
    select
        customer_id,
        order_day,
        sum(orders) over days_so_far as orders_lifetime,
        case when count(*) over days_so_far = count(revenue) over days_so_far
            then sum(revenue) over days_so_far end as revenue_lifetime
    from daily_orders
    window days_so_far as (partition by customer_id order by order_day)
),

windowed as (
    select
        spine.customer_id,
        spine.as_of_date,
        {%- for days in windows %}
        {{ mlmodels.pit_window_sum('days.orders', 'days.order_day', 'spine.as_of_date', days) }}
            as orders_{{ days }}d,
        {{ mlmodels.pit_window_sum('days.revenue', 'days.order_day', 'spine.as_of_date', days) }}
            as revenue_{{ days }}d,
        {%- endfor %}
        {{ mlmodels.pit_window_sum('days.orders', 'days.order_day', 'spine.as_of_date', 30, 30) }}
            as orders_prev_30d,
        {{ mlmodels.pit_window_sum('days.revenue', 'days.order_day', 'spine.as_of_date', 30, 30) }}
            as revenue_prev_30d
    from spine
    left join daily_orders as days
        on days.customer_id = spine.customer_id
        and {{ mlmodels.pit_window('days.order_day', 'spine.as_of_date', windows | max) }}
    group by spine.customer_id, spine.as_of_date
),

lifetime as (
    select
        spine.customer_id,
        spine.as_of_date,
        history.order_day as last_order_day,
        history.orders_lifetime,
        history.revenue_lifetime
    from spine
    {{ mlmodels.asof_left_join(
        'order_history', 'history', 'customer_id', 'spine.customer_id',
        'order_day', 'spine.as_of_date') }}
),

plan_at_cutoff as (
    select
        spine.customer_id,
        spine.as_of_date,
        plans.plan,
        plans.valid_from as plan_since
    from spine
    {{ mlmodels.asof_left_join(
        ref('stg_demo__plan_history'), 'plans', 'customer_id', 'spine.customer_id',
        'valid_from', 'spine.as_of_date') }}
),

plan_changes as (
    select
        spine.customer_id,
        spine.as_of_date,
        count(history.valid_from) - 1 as plan_changes
    from spine
    left join {{ ref('stg_demo__plan_history') }} as history
        on history.customer_id = spine.customer_id
        and {{ mlmodels.pit_window('history.valid_from', 'spine.as_of_date') }}
    group by spine.customer_id, spine.as_of_date
)

select
    spine.customer_id,
    spine.as_of_date,
    {{ dbt.datediff('spine.signup_at', 'spine.as_of_date', 'day') }} as tenure_days,
    {%- for days in windows %}
    cast(windowed.orders_{{ days }}d as integer) as orders_{{ days }}d,
    cast(windowed.revenue_{{ days }}d as double) as revenue_{{ days }}d,
    {%- if days >= 30 %}
    cast(windowed.revenue_{{ days }}d / nullif(windowed.orders_{{ days }}d, 0) as double)
        as avg_order_value_{{ days }}d,
    {%- endif %}
    {%- endfor %}
    cast(windowed.orders_prev_30d as integer) as orders_prev_30d,
    -- +1 smoothing keeps the ratio finite for customers with no orders in the prior 30 days.
    cast((windowed.orders_30d + 1) as double) / (windowed.orders_prev_30d + 1) as orders_trend_30d,
    cast(windowed.revenue_30d - windowed.revenue_prev_30d as double) as revenue_change_30d,
    {{ dbt.datediff('lifetime.last_order_day', 'spine.as_of_date', 'day') }} as days_since_last_order,
    cast(coalesce(lifetime.orders_lifetime, 0) as integer) as orders_lifetime,
    -- 0 only for a customer with no order yet; an unknown amount in the history stays unknown.
    cast(case when lifetime.last_order_day is null then 0 else lifetime.revenue_lifetime end
        as double) as revenue_lifetime,
    plan_at_cutoff.plan,
    {{ dbt.datediff('plan_at_cutoff.plan_since', 'spine.as_of_date', 'day') }} as days_on_plan,
    cast(plan_changes.plan_changes as integer) as plan_changes,
    spine.region,
    spine.acquisition_channel
from spine
inner join windowed
    on windowed.customer_id = spine.customer_id and windowed.as_of_date = spine.as_of_date
inner join lifetime
    on lifetime.customer_id = spine.customer_id and lifetime.as_of_date = spine.as_of_date
inner join plan_at_cutoff
    on plan_at_cutoff.customer_id = spine.customer_id
    and plan_at_cutoff.as_of_date = spine.as_of_date
inner join plan_changes
    on plan_changes.customer_id = spine.customer_id and plan_changes.as_of_date = spine.as_of_date
