-- drafted by `mlmodels draft-gates` from 6245 rows of demo.plan_history: no value missing.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.missing_share_above(source('demo', 'plan_history'), 'customer_id', 0) }}
