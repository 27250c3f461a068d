from mlmodels import workflow


def model(dbt, session):
    dbt.config(materialized="table")
    return workflow.evaluation(dbt.ref("ml_model_registry"), "lift")
