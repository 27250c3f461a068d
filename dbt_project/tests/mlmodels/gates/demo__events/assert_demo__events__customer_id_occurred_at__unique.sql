-- drafted by `mlmodels draft-gates` from 363453 rows of demo.events: one distinct row per customer_id and occurred_at.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.duplicate_keys(source('demo', 'events'), ["customer_id", "occurred_at"]) }}
