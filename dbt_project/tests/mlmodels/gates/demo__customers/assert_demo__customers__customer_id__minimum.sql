-- drafted by `mlmodels draft-gates` from 5000 rows of demo.customers: no negative value (the minimum was 1).
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.values_below(source('demo', 'customers'), 'customer_id', 0) }}
