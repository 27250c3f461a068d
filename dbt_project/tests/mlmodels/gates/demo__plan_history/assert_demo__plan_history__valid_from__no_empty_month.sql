-- drafted by `mlmodels draft-gates` from 6245 rows of demo.plan_history: every month of the 30 from the first to the last has rows.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.empty_periods(source('demo', 'plan_history'), 'valid_from', 'month') }}
