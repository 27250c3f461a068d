-- drafted by `mlmodels draft-gates` from 363453 rows of demo.events: no negative value (the minimum was 1).
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.values_below(source('demo', 'events'), 'customer_id', 0) }}
