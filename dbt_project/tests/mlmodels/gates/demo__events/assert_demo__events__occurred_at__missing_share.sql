-- drafted by `mlmodels draft-gates` from 363453 rows of demo.events: no value missing.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.missing_share_above(source('demo', 'events'), 'occurred_at', 0) }}
