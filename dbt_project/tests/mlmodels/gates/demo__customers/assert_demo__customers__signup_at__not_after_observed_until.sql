-- drafted by `mlmodels draft-gates` from 5000 rows of demo.customers: no timestamp after the observed end of the data.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.future_events(source('demo', 'customers'), 'signup_at') }}
