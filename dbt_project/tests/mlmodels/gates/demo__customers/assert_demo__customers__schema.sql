-- drafted by `mlmodels draft-gates` from 5000 rows of demo.customers: the 5 columns and their types.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.columns_changed(source('demo', 'customers'), {"customer_id": "BIGINT", "signup_at": "TIMESTAMP", "region": "VARCHAR", "acquisition_channel": "VARCHAR", "cancelled_at": "TIMESTAMP"}) }}
