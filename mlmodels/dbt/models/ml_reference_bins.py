from mlmodels import workflow


def model(dbt, session):
    dbt.config(materialized="table")
    return workflow.reference_bins(dbt.ref("ml_model_registry"))
