-- The invoice lines that are sales to a known customer: the events every customer feature and
-- both labels are built on. What is left out, and why:
--   * cancellations and returns ('C' invoices): not purchases. They stay in
--     stg_retail__invoice_lines as line_type 'cancellation'; the feature mart counts them and the
--     spend label nets them off (stg_retail__invoice_lines, line_type in purchase, cancellation).
--   * bad-debt adjustments ('A' invoices) and zero or negative prices: not sales.
--   * lines without CustomerID (a quarter of all lines; guest checkouts): no customer to build
--     features or labels for. They still count in the shop's totals, never in a customer's.
select
    invoice_line_id,
    invoice_no,
    customer_id,
    stock_code,
    description,
    quantity,
    unit_price,
    amount,
    invoiced_at,
    country,
    is_product
from {{ ref('stg_retail__invoice_lines') }}
where line_type = 'purchase'
    and customer_id is not null
