from mlmodels import workflow


def model(dbt, session):
    dbt.config(materialized="table")
    return workflow.status_history(dbt.ref("ml_model_registry"), dbt.config.meta_get("mlmodels"))
