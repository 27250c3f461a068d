-- drafted by `mlmodels draft-gates` from 363453 rows of demo.events: the 5 columns and their types.
-- Read it and edit it: it fails the build (and skips everything downstream).
{{ config(severity='error') }}
{{ mlmodels.columns_changed(source('demo', 'events'), {"event_id": "BIGINT", "customer_id": "BIGINT", "event_type": "VARCHAR", "occurred_at": "TIMESTAMP", "amount": "DOUBLE"}) }}
