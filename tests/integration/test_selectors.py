import pytest
from dbt.cli.main import dbtRunner

from tests.integration.helpers import REPO

pytestmark = pytest.mark.slow


def selected(selector: str) -> set[str]:
    project = ["--project-dir", str(REPO / "dbt_project"), "--profiles-dir", str(REPO), "--quiet"]
    assert dbtRunner().invoke(["deps", *project]).success  # links the local mlmodels package
    result = dbtRunner().invoke([
        "ls", "--project-dir", str(REPO / "dbt_project"), "--profiles-dir", str(REPO),
        "--selector", selector, "--resource-type", "model", "--output", "name", "--quiet",
    ])
    assert result.success, result.exception
    return set(result.result)


def test_daily_scoring_includes_the_gates_and_not_training():
    names = selected("daily_scoring")
    assert {"dq_feat_customer__as_of", "dq_ml_churn__training_set",
            "dq_ml_spend__training_set"} <= names
    assert {"ml_churn__scores", "ml_churn__predictions", "ml_spend__feature_drift"} <= names
    assert not {"ml_churn__train", "ml_spend__train"} & names


def test_retrain_includes_the_gates_training_and_what_follows():
    names = selected("retrain")
    assert {"dq_feat_customer__as_of", "dq_ml_churn__training_set", "ml_churn__train",
            "ml_spend__train", "ml_model_registry", "ml_churn__scores"} <= names
