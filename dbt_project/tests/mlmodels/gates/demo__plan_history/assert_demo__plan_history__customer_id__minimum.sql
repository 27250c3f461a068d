-- drafted by `mlmodels draft-gates` from 6245 rows of demo.plan_history: no negative value (the minimum was 1).
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.values_below(source('demo', 'plan_history'), 'customer_id', 0) }}
