-- drafted by `mlmodels draft-gates` from 5000 rows of demo.customers: 42.46% missing when drafted; at most 47.46%.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.missing_share_above(source('demo', 'customers'), 'cancelled_at', 0.4746) }}
