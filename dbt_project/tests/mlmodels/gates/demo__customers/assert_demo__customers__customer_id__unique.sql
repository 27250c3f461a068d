-- drafted by `mlmodels draft-gates` from 5000 rows of demo.customers: one distinct row per customer_id.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.duplicate_keys(source('demo', 'customers'), ["customer_id"]) }}
