-- Every distinct invoice line of the landing zone, typed and flagged; nothing is filtered out
-- here except exact duplicates, so every cleaning rule downstream can be counted against it.
{%- set landing_through = var('landing_through', none) %}

with landed as (
    select
        cast(InvoiceNo as varchar) as invoice_no,
        cast(StockCode as varchar) as stock_code,
        cast(Description as varchar) as description,
        cast(Quantity as integer) as quantity,
        cast(UnitPrice as decimal(18, 3)) as unit_price,
        cast(InvoiceDate as timestamp) as invoiced_at,
        -- CustomerID arrives as a float text ('17850.0'); every value is a whole number.
        cast(CustomerID as bigint) as customer_id,
        cast(Country as varchar) as country,
        -- The file's date, from its name: daily arrival is simulated by reading the files up to
        -- the var landing_through. Every line of a file is dated that day (see
        -- tests/assert_invoice_lines_are_dated_their_file_day.sql).
        cast(regexp_extract(filename, '(\d{4}-\d{2}-\d{2})\.csv$', 1) as date) as landed_on
    from {{ source('retail', 'invoice_lines') }}
    {%- if landing_through is not none %}
    where cast(regexp_extract(filename, '(\d{4}-\d{2}-\d{2})\.csv$', 1) as date)
        <= cast('{{ landing_through }}' as date)
    {%- endif %}
),

-- Exact duplicate lines (5,268 of 541,909: every column equal, same file) are one line: the
-- source has no line number, so two identical lines of one invoice cannot be told apart from a
-- double load. raw_copies keeps how many there were, so what was removed can be counted.
distinct_lines as (
    select *, count(*) as raw_copies
    from landed
    group by all
)

select
    -- A stable line key: an invoice lands whole in one daily file, so numbering its lines in
    -- the order of their columns gives the same key on every run, whatever arrives later.
    invoice_no || '-' || row_number() over (
        partition by invoice_no
        order by stock_code, quantity, unit_price, description, invoiced_at, customer_id, country
    ) as invoice_line_id,
    invoice_no,
    stock_code,
    description,
    quantity,
    unit_price,
    cast(quantity * unit_price as decimal(18, 3)) as amount,  -- decimal: sums are exact
    invoiced_at,
    customer_id,
    country,
    landed_on,
    raw_copies,
    case
        -- 'C' invoices cancel (or return) earlier lines: every one has a negative quantity.
        when starts_with(invoice_no, 'C') then 'cancellation'
        -- 'A' invoices are the accountant's 'Adjust bad debt' entries (StockCode 'B').
        when starts_with(invoice_no, 'A') then 'adjustment'
        -- Zero prices are free samples or stock write-offs ('damaged', 'lost', negative
        -- quantities, no customer); not sales.
        when unit_price <= 0 then 'unpriced'
        when quantity > 0 then 'purchase'
        else 'other'  -- none in the data; accepted_values fails the build if one appears
    end as line_type,
    -- Goods, as against postage, fees, manual entries, discounts and samples (POST, DOT, M, D,
    -- S, BANK CHARGES, AMAZONFEE, ...): product codes start with five digits.
    regexp_matches(stock_code, '^[0-9]{5}') as is_product
from distinct_lines
