-- drafted by `mlmodels draft-gates` from 363453 rows of demo.events: 0.79% missing when drafted; at most 5.79%.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.missing_share_above(source('demo', 'events'), 'amount', 0.0579) }}
