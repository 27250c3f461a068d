-- drafted by `mlmodels draft-gates` from 363453 rows of demo.events: every day of the 912 from the first to the last has rows.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.empty_periods(source('demo', 'events'), 'occurred_at', 'day') }}
