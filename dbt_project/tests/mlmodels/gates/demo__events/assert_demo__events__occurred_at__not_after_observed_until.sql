-- drafted by `mlmodels draft-gates` from 363453 rows of demo.events: no timestamp after the observed end of the data.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.future_events(source('demo', 'events'), 'occurred_at') }}
