{%- set windows = [7, 30, 45, 90, 180] -%}

with purchases as (
    select * from {{ ref('stg_retail__purchases') }}
),

-- Cancellations and returns of known customers: counted as features, never as purchases.
cancellations as (
    select * from {{ ref('stg_retail__invoice_lines') }}
    where line_type = 'cancellation' and customer_id is not null
),

-- Every as_of_cadence (week: Mondays, from as_of_start) up to the last landed purchase.
as_of_dates as (
    {{ mlmodels.as_of_dates(
        var('as_of_start'), '(select max(invoiced_at) from purchases)', var('as_of_cadence')) }}
),

first_purchases as (
    select customer_id, min(invoiced_at) as first_purchase_at
    from purchases
    group by customer_id
),

-- Customers who exist at the cutoff: their first purchase lies strictly before it. (A customer's
-- first purchase before as_of is the first purchase of all time, so this sees no later event.)
spine as (
    select
        first_purchases.customer_id,
        as_of_dates.as_of_date,
        first_purchases.first_purchase_at
    from first_purchases
    inner join as_of_dates
        on {{ mlmodels.pit_window('first_purchases.first_purchase_at', 'as_of_dates.as_of_date') }}
),

-- Purchases rolled up per customer and day first: the windows below then join days, not lines.
-- An order is an invoice; its value is the sum of its lines (decimal: exact in any order).
daily_purchases as (
    select
        customer_id,
        cast(invoiced_at as date) as order_day,
        count(distinct invoice_no) as orders,
        sum(amount) as revenue,
        sum(quantity) as units,
        max(country) as country  -- a handful of customers order from two countries on one day
    from purchases
    group by customer_id, cast(invoiced_at as date)
),

daily_cancellations as (
    select
        customer_id,
        cast(invoiced_at as date) as cancel_day,
        count(distinct invoice_no) as cancellations,
        -sum(amount) as cancelled_value  -- positive: what was taken back
    from cancellations
    group by customer_id, cast(invoiced_at as date)
),

-- Running totals per customer up to and including each order day.
order_history as (
    select
        customer_id,
        order_day,
        country,
        sum(orders) over (partition by customer_id order by order_day) as orders_lifetime,
        sum(revenue) over (partition by customer_id order by order_day) as revenue_lifetime
    from daily_purchases
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
        {{ mlmodels.pit_window_sum('days.units', 'days.order_day', 'spine.as_of_date', 90) }}
            as units_90d,
        {{ mlmodels.pit_window_sum('days.orders', 'days.order_day', 'spine.as_of_date', 30, 30) }}
            as orders_prev_30d
    from spine
    left join daily_purchases as days
        on days.customer_id = spine.customer_id
        and {{ mlmodels.pit_window('days.order_day', 'spine.as_of_date', windows | max) }}
    group by spine.customer_id, spine.as_of_date
),

cancelled as (
    select
        spine.customer_id,
        spine.as_of_date,
        {{ mlmodels.pit_window_sum('days.cancellations', 'days.cancel_day', 'spine.as_of_date', 90) }}
            as cancellations_90d,
        {{ mlmodels.pit_window_sum('days.cancelled_value', 'days.cancel_day', 'spine.as_of_date', 45) }}
            as cancelled_value_45d,
        {{ mlmodels.pit_window_sum('days.cancelled_value', 'days.cancel_day', 'spine.as_of_date', 90) }}
            as cancelled_value_90d
    from spine
    left join daily_cancellations as days
        on days.customer_id = spine.customer_id
        and {{ mlmodels.pit_window('days.cancel_day', 'spine.as_of_date', 90) }}
    group by spine.customer_id, spine.as_of_date
),

-- Distinct goods need the lines themselves (a distinct count does not add up over days).
products as (
    select
        spine.customer_id,
        spine.as_of_date,
        count(distinct lines.stock_code) as distinct_products_90d
    from spine
    left join purchases as lines
        on lines.customer_id = spine.customer_id
        and lines.is_product
        and {{ mlmodels.pit_window('lines.invoiced_at', 'spine.as_of_date', 90) }}
    group by spine.customer_id, spine.as_of_date
),

-- The last order day before the cutoff: recency, lifetime totals and the country ordered from.
lifetime as (
    select
        spine.customer_id,
        spine.as_of_date,
        history.order_day as last_order_day,
        history.orders_lifetime,
        history.revenue_lifetime,
        history.country
    from spine
    {{ mlmodels.asof_left_join(
        'order_history', 'history', 'customer_id', 'spine.customer_id',
        'order_day', 'spine.as_of_date') }}
)

select
    spine.customer_id,
    spine.as_of_date,
    {{ dbt.datediff('spine.first_purchase_at', 'spine.as_of_date', 'day') }} as tenure_days,
    {{ dbt.datediff('lifetime.last_order_day', 'spine.as_of_date', 'day') }} as days_since_last_order,
    {%- for days in windows %}
    cast(windowed.orders_{{ days }}d as integer) as orders_{{ days }}d,
    cast(windowed.revenue_{{ days }}d as double) as revenue_{{ days }}d,
    {%- if days >= 30 %}
    cast(windowed.revenue_{{ days }}d / nullif(windowed.orders_{{ days }}d, 0) as double)
        as avg_order_value_{{ days }}d,
    {%- endif %}
    {%- endfor %}
    cast(windowed.units_90d as integer) as units_90d,
    cast(products.distinct_products_90d as integer) as distinct_products_90d,
    -- +1 smoothing keeps the ratio finite for customers with no orders in the prior 30 days.
    cast((windowed.orders_30d + 1) as double) / (windowed.orders_prev_30d + 1) as orders_trend_30d,
    cast(cancelled.cancellations_90d as integer) as cancellations_90d,
    cast(cancelled.cancelled_value_90d as double) as cancelled_value_90d,
    -- What the customer kept: the spend label nets cancellations off the same way.
    cast(windowed.revenue_45d - cancelled.cancelled_value_45d as double) as net_revenue_45d,
    cast(windowed.revenue_90d - cancelled.cancelled_value_90d as double) as net_revenue_90d,
    cast(lifetime.orders_lifetime as integer) as orders_lifetime,
    cast(lifetime.revenue_lifetime as double) as revenue_lifetime,
    -- 37 countries, 90% of customers in the UK: the three largest markets by customers, and the
    -- rest together, so no category is too small to learn from (and a new country is no error).
    case
        when lifetime.country in ('United Kingdom', 'Germany', 'France') then lifetime.country
        else 'Other'
    end as country_group
from spine
inner join windowed
    on windowed.customer_id = spine.customer_id and windowed.as_of_date = spine.as_of_date
inner join cancelled
    on cancelled.customer_id = spine.customer_id and cancelled.as_of_date = spine.as_of_date
inner join products
    on products.customer_id = spine.customer_id and products.as_of_date = spine.as_of_date
inner join lifetime
    on lifetime.customer_id = spine.customer_id and lifetime.as_of_date = spine.as_of_date
