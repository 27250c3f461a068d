-- drafted by `mlmodels draft-gates` from 5000 rows of demo.customers: no value missing.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.missing_share_above(source('demo', 'customers'), 'region', 0, blank_is_missing=true) }}
