-- drafted by `mlmodels draft-gates` from 5000 rows of demo.customers: every month of the 30 from the first to the last has rows.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.empty_periods(source('demo', 'customers'), 'signup_at', 'month') }}
