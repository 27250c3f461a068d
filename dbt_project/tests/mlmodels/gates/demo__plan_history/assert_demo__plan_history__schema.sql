-- drafted by `mlmodels draft-gates` from 6245 rows of demo.plan_history: the 3 columns and their types.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.columns_changed(source('demo', 'plan_history'), {"customer_id": "BIGINT", "plan": "VARCHAR", "valid_from": "TIMESTAMP"}) }}
