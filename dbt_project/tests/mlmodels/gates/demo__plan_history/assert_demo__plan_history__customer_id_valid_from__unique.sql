-- drafted by `mlmodels draft-gates` from 6245 rows of demo.plan_history: one distinct row per customer_id and valid_from.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.duplicate_keys(source('demo', 'plan_history'), ["customer_id", "valid_from"]) }}
