-- Daily arrival relies on it: a file holds the lines invoiced on the day in its name, so reading
-- the files up to a date reads exactly the lines invoiced up to that date.
select invoice_line_id, invoiced_at, landed_on
from {{ ref('stg_retail__invoice_lines') }}
where cast(invoiced_at as date) <> landed_on
