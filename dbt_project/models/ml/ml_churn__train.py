from mlmodels import specs, training


def model(dbt, session):
    dbt.config(materialized="table")
    spec = specs.load(dbt.config.meta_get("spec"))
    rows = dbt.ref("ml_churn__training_set").filter("split in ('train', 'valid', 'test')").df()
    return training.train_and_register(rows, spec, dbt.config.meta_get("artifact_dir"))
