from mlmodels import workflow


def model(dbt, session):
    dbt.config(materialized="table")
    return workflow.export({
        "ml_model_registry": dbt.ref("ml_model_registry"),
        "ml_model_status_history": dbt.ref("ml_model_status_history"),
        "ml_evaluation__metrics": dbt.ref("ml_evaluation__metrics"),
        "ml_evaluation__thresholds": dbt.ref("ml_evaluation__thresholds"),
        "ml_evaluation__curves": dbt.ref("ml_evaluation__curves"),
    }, dbt.config.meta_get("mlmodels"))
