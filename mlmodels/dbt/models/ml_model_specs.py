from mlmodels import workflow


def model(dbt, session):
    dbt.config(materialized="table")
    return workflow.model_specs(dbt.config.meta_get("mlmodels"))
