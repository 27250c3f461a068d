from mlmodels import drift


def model(dbt, session):
    dbt.config(materialized="table")
    registry = dbt.ref("ml_model_registry").filter("model_name = 'churn'").df()
    return drift.registered_reference_bins(registry)
