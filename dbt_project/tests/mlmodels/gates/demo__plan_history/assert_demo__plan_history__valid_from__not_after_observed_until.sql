-- drafted by `mlmodels draft-gates` from 6245 rows of demo.plan_history: no timestamp after the observed end of the data.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.future_events(source('demo', 'plan_history'), 'valid_from') }}
