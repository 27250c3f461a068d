-- drafted by `mlmodels draft-gates` from 5000 rows of demo.customers: the 5 categories seen.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.unexpected_values(source('demo', 'customers'), 'region', ["central", "east", "north", "south", "west"]) }}
