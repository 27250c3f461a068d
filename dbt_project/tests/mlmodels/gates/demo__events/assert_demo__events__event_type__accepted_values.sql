-- drafted by `mlmodels draft-gates` from 363453 rows of demo.events: the 2 categories seen.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.unexpected_values(source('demo', 'events'), 'event_type', ["cancellation", "order"]) }}
