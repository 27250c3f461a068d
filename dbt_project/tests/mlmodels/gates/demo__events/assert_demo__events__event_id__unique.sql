-- drafted by `mlmodels draft-gates` from 363453 rows of demo.events: one distinct row per event_id.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.duplicate_keys(source('demo', 'events'), ["event_id"]) }}
