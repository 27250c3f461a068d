from mlmodels import scoring, specs


def model(dbt, session):
    dbt.config(materialized="table")
    spec = specs.load(dbt.config.meta_get("spec"))
    registry = dbt.ref("ml_model_registry").df()
    rows = dbt.ref("ml_churn__training_set").filter("split = 'score'")
    return scoring.score_champion(registry, rows.to_arrow_reader(scoring.BATCH_ROWS), spec)
