-- drafted by `mlmodels draft-gates` from 6245 rows of demo.plan_history: the 3 categories seen.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.unexpected_values(source('demo', 'plan_history'), 'plan', ["basic", "premium", "standard"]) }}
