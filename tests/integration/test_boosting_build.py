"""A LightGBM candidate from YAML through a real dbt build: trained, signed, registered with its
library's version, scored and explained by the library's own TreeSHAP.

Needs the ``boosting`` extra (``make test`` and CI install it); skips without it, saying so.
"""

import pytest

from mlmodels.serve import registry
from tests.integration.helpers import new_warehouse

pytestmark = pytest.mark.slow

lightgbm = pytest.importorskip(
    "lightgbm", reason="needs LightGBM, from the boosting extra: pip install 'mlmodels[boosting]'")

CANDIDATES = """candidates:
  - name: logistic_regression
    params: {max_iter: 1000}
    grid: {C: [0.1, 1.0]}
  - name: hist_gradient_boosting
    params: {max_iter: 150, max_leaf_nodes: 15}
    grid: {learning_rate: [0.05, 0.1]}
"""
LIGHTGBM_ONLY = """candidates:
  - name: lightgbm.LGBMClassifier
    params: {n_estimators: 150, learning_rate: 0.05}
    grid: {num_leaves: [7, 15]}
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    built = new_warehouse(tmp_path_factory.mktemp("boosting"))
    built.edit("ml/churn.yml", CANDIDATES, LIGHTGBM_ONLY)
    built.build("--select", "+ml_churn__predictions")
    return built


def test_the_lightgbm_version_is_registered_with_its_library_and_verified(warehouse,
                                                                        monkeypatch):
    monkeypatch.setenv("MLMODELS_SIGNING_KEY_FILE", str(warehouse.artifacts.parent / "signing.key"))
    row = warehouse.sql("select * from ml_churn__train").iloc[0]
    assert row.estimator == "lightgbm.LGBMClassifier"
    assert (row.estimator_library, row.estimator_library_version) == (
        "lightgbm", lightgbm.__version__)
    assert row.artifact_signature and row.artifact_sha256
    pipeline = registry.load_verified(row.to_dict())
    assert isinstance(pipeline.named_steps["est"], lightgbm.LGBMClassifier)
    candidates = registry.load_evaluation(row.artifact_uri)["candidates"]
    assert {c["candidate"] for c in candidates} == {"lightgbm.LGBMClassifier"}


def test_its_scores_are_explained_by_lightgbm_itself(warehouse):
    status = warehouse.sql("select status from ml_churn__train")
    if status.status[0] != "champion":
        pytest.fail(f"the LightGBM version was not promoted ({status.status[0]}): nothing scored")
    scores = warehouse.sql("select * from ml_churn__scores")
    assert len(scores) > 0 and (scores.explanation_method == "tree_native").all()
    assert scores.reasons.notna().all() and scores.reason_features.map(len).eq(3).all()
    predictions = warehouse.sql("select * from ml_churn__predictions where is_selected")
    assert len(predictions) > 0 and predictions.reasons.notna().all()
