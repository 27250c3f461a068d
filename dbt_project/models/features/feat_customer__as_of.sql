{%- set windows = [7, 30, 90, 180] -%}
{#- (name, since, until): the order days in [as_of - since days, as_of - until days) -#}
{%- set window_bounds = [] -%}
{%- for days in windows %}{% do window_bounds.append((days ~ 'd', days, 0)) %}{% endfor -%}
{%- do window_bounds.append(('prev_30d', 60, 30)) -%}
{#- the days back from the as_of where running totals are looked up -#}
{%- set lookback_days = [0] + windows + [60] -%}

with events as (
    select * from {{ ref('stg_demo__events') }}
),

as_of_dates as (
    -- up to the last event: read from `events`, which the mart reads anyway
    {{ mlmodels.as_of_dates(
        var('as_of_start'), '(select max(occurred_at) from events)', var('as_of_cadence')) }}
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

-- Running totals per customer over its orders, up to and including each order (orders at the same
-- time share their totals). The sum over a window is then the difference of two running totals,
-- each looked up once per spine row (at the as_of and at the window's start), instead of joining
-- every order of the window to every spine row.
order_totals as (
    select
        customer_id,
        occurred_at as ordered_at,
        count(*) over orders_so_far as orders_so_far,
        -- decimal, so the difference of two totals is exact, whatever the order of addition
        sum(coalesce(amount, 0)) over orders_so_far as revenue_so_far,
        count(*) over orders_so_far - count(amount) over orders_so_far as unknown_amounts_so_far
    from events
    where event_type = 'order'
    window orders_so_far as (partition by customer_id order by occurred_at)
),

-- Each spine row once per lookup: the as_of itself, and the start of each window.
lookups as (
    select
        spine.customer_id,
        spine.as_of_date,
        days_back.days,
        {{ dbt.dateadd('day', '-days_back.days', 'spine.as_of_date') }} as looked_up_at
    from spine
    cross join (
        {%- for days in lookback_days %}
        select {{ days }} as days{% if not loop.last %} union all{% endif %}
        {%- endfor %}
    ) as days_back
),

-- The totals of the orders strictly before each lookup date's midnight (no order yet: zero).
totals_before as (
    select
        lookups.customer_id,
        lookups.as_of_date,
        lookups.days,
        cast(totals.ordered_at as date) as order_day,
        coalesce(totals.orders_so_far, 0) as orders,
        coalesce(totals.revenue_so_far, 0) as revenue,
        coalesce(totals.unknown_amounts_so_far, 0) as unknown_amounts
    from lookups
    {{ mlmodels.asof_left_join(
        'order_totals', 'totals', 'customer_id', 'lookups.customer_id',
        'ordered_at', 'lookups.looked_up_at') }}
),

-- One row per spine row again, one column per lookup.
totals as (
    select
        customer_id,
        as_of_date,
        {%- for days in lookback_days %}
        {%- for measure in ['orders', 'revenue', 'unknown_amounts'] %}
        max(case when days = {{ days }} then {{ measure }} end) as {{ measure }}_before_{{ days }},
        {%- endfor %}
        {%- endfor %}
        max(case when days = 0 then order_day end) as last_order_day
    from totals_before
    group by customer_id, as_of_date
),

-- Orders and revenue of each window: the days in [as_of - since, as_of - until). Its revenue is
-- unknown when any of its orders has an unknown amount (as with mlmodels.pit_window_sum).
windowed as (
    select
        customer_id,
        as_of_date,
        {%- for name, since, until in window_bounds %}
        orders_before_{{ until }} - orders_before_{{ since }} as orders_{{ name }},
        case when unknown_amounts_before_{{ until }} = unknown_amounts_before_{{ since }}
            then revenue_before_{{ until }} - revenue_before_{{ since }} end as revenue_{{ name }},
        {%- endfor %}
        last_order_day,
        orders_before_0 as orders_lifetime,
        case when unknown_amounts_before_0 = 0 then revenue_before_0 end as revenue_lifetime
    from totals
),

-- Plans with the count of plan rows so far: the plan at the cutoff and how often it changed
-- come from one as-of lookup.
plan_history as (
    select
        customer_id,
        plan,
        valid_from,
        count(*) over (partition by customer_id order by valid_from) as plans_so_far
    from {{ ref('stg_demo__plan_history') }}
),

plan_at_cutoff as (
    select
        spine.customer_id,
        spine.as_of_date,
        plans.plan,
        plans.valid_from as plan_since,
        coalesce(plans.plans_so_far, 0) - 1 as plan_changes
    from spine
    {{ mlmodels.asof_left_join(
        'plan_history', 'plans', 'customer_id', 'spine.customer_id',
        'valid_from', 'spine.as_of_date') }}
)

select
    spine.customer_id,
    spine.as_of_date,
    {{ dbt.datediff('spine.signup_at', 'spine.as_of_date', 'day') }} as tenure_days,
    {%- for days in windows %}
    cast(windowed.orders_{{ days }}d as integer) as orders_{{ days }}d,
    cast(windowed.revenue_{{ days }}d as double) as revenue_{{ days }}d,
    {%- if days >= 30 %}
    cast(windowed.revenue_{{ days }}d as double) / nullif(windowed.orders_{{ days }}d, 0)
        as avg_order_value_{{ days }}d,
    {%- endif %}
    {%- endfor %}
    cast(windowed.orders_prev_30d as integer) as orders_prev_30d,
    -- +1 smoothing keeps the ratio finite for customers with no orders in the prior 30 days.
    cast((windowed.orders_30d + 1) as double) / (windowed.orders_prev_30d + 1) as orders_trend_30d,
    cast(windowed.revenue_30d - windowed.revenue_prev_30d as double) as revenue_change_30d,
    {{ dbt.datediff('windowed.last_order_day', 'spine.as_of_date', 'day') }} as days_since_last_order,
    cast(windowed.orders_lifetime as integer) as orders_lifetime,
    -- 0 for a customer with no order yet; an unknown amount in the history stays unknown.
    cast(windowed.revenue_lifetime as double) as revenue_lifetime,
    plan_at_cutoff.plan,
    {{ dbt.datediff('plan_at_cutoff.plan_since', 'spine.as_of_date', 'day') }} as days_on_plan,
    cast(plan_at_cutoff.plan_changes as integer) as plan_changes,
    spine.region,
    spine.acquisition_channel
from spine
inner join windowed
    on windowed.customer_id = spine.customer_id and windowed.as_of_date = spine.as_of_date
inner join plan_at_cutoff
    on plan_at_cutoff.customer_id = spine.customer_id
    and plan_at_cutoff.as_of_date = spine.as_of_date
