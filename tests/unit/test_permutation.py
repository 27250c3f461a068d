"""Batched permutation importances equal scikit-learn's permutation_importance."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlmodels.learn import permutation


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(3)
    rows = 900
    X = pd.DataFrame({"signal": rng.normal(size=rows), "noise": rng.normal(size=rows),
                      "weak": rng.normal(size=rows),
                      "plan": rng.choice(["basic", "premium", "standard"], rows)})
    logit = 2 * X.signal + 0.3 * X.weak + (X.plan == "premium") - 0.5
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).to_numpy(dtype=int)
    pre = ColumnTransformer([("num", StandardScaler(), ["signal", "noise", "weak"]),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])])
    pipeline = Pipeline([("pre", pre), ("est", HistGradientBoostingClassifier(
        max_iter=30, random_state=0))]).fit(X, y)
    return pipeline, X, y


def positive(pipeline):
    return lambda frame: pipeline.predict_proba(frame)[:, 1]


@pytest.mark.parametrize("block_rows", [permutation.BLOCK_ROWS, 1000, 1])
@pytest.mark.parametrize("metric, higher_is_better", [(roc_auc_score, True), (log_loss, False)])
def test_equal_to_scikit_learn_in_every_block_size(fitted, monkeypatch, block_rows, metric,
                                                    higher_is_better):
    pipeline, X, y = fitted
    monkeypatch.setattr(permutation, "BLOCK_ROWS", block_rows)
    means, stds = permutation.permutation_importances(
        X, y, positive(pipeline), metric, higher_is_better, n_repeats=3, random_state=42)
    sign = 1 if higher_is_better else -1

    def scorer(estimator, frame, labels):
        return sign * metric(labels, estimator.predict_proba(frame)[:, 1])

    expected = permutation_importance(pipeline, X, y, scoring=scorer, n_repeats=3,
                                      random_state=42)
    np.testing.assert_allclose(means, expected.importances_mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(stds, expected.importances_std, rtol=0, atol=1e-12)


def test_the_model_s_signal_ranks_first_and_noise_near_zero(fitted):
    pipeline, X, y = fitted
    means, _ = permutation.permutation_importances(
        X, y, positive(pipeline), roc_auc_score, True, n_repeats=3, random_state=0)
    by_feature = dict(zip(X.columns, means, strict=True))
    assert max(by_feature, key=by_feature.get) == "signal"
    assert by_feature["signal"] > 0.1 > abs(by_feature["noise"])
