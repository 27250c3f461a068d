"""Reason codes: contributions add up to the raw score, and the top features are the right ones."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlmodels.learn import explain, training
from mlmodels.learn.pipelines import build_pipeline, feature_frame
from mlmodels.serve import scoring
from mlmodels.spec import specs
from tests.unit.toy import SPEC

CLASSIFIERS = [("logistic_regression", {"max_iter": 500}),
               ("hist_gradient_boosting", {"max_iter": 30, "max_leaf_nodes": 7}),
               ("random_forest", {"n_estimators": 10, "max_depth": 4})]


def fitted(rows, spec, name, params):
    """A Pipeline fitted on every row, with its training reference, as training leaves it."""
    X = feature_frame(rows, spec)
    pipeline = build_pipeline(spec, name, params).fit(X, rows["label"])
    explain.attach_reference(pipeline, X, spec)
    return pipeline, X


@pytest.mark.parametrize(("name", "params"), CLASSIFIERS)
def test_contributions_add_up_to_the_raw_score(rows, spec, name, params):
    pytest.importorskip("shap") if name != "logistic_regression" else None
    pipeline, X = fitted(rows, spec, name, params)
    found = explain.Explainer(pipeline, spec).explain(X)
    assert found.method == ("linear" if name == "logistic_regression" else "tree_shap")
    assert found.contributions.shape == (len(X), 3)  # x1, x2, colour (3 one-hot columns summed)
    est = pipeline.named_steps["est"]
    transformed = pipeline.named_steps["pre"].transform(X)
    # log-odds where the model has them, the averaged probability of a random forest
    raw = (est.decision_function(transformed) if hasattr(est, "decision_function")
           else est.predict_proba(transformed)[:, 1])
    np.testing.assert_allclose(found.raw_score, raw, rtol=0, atol=1e-12)
    np.testing.assert_allclose(found.base_value + found.contributions.sum(axis=1), raw,
                               rtol=0, atol=1e-6)


def test_a_row_gets_the_same_contributions_to_the_last_bit_in_any_batch():
    # A re-scored as_of arrives in other batches than the first time; its history must not
    # change in the last bits. The demo's shape: 19 numeric columns, one-hot ones of 3, 5 and 5.
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4070, 32)) * 0.1
    groups = [np.array([c]) for c in range(19)] + [np.arange(19, 22), np.arange(22, 27),
                                                   np.arange(27, 32)]
    whole = explain.sum_per_feature(values, groups)
    for size in (1, 3, 7, 250, 1001):
        for start in (0, 5, 101):
            part = explain.sum_per_feature(values[start:start + size], groups)
            assert np.array_equal(part, whole[start:start + size]), (size, start)
    np.testing.assert_allclose(whole.sum(axis=1), values.sum(axis=1), rtol=0, atol=1e-12)


def test_regressor_contributions_explain_the_prediction_before_clipping(rows):
    spec = specs.from_dict({**SPEC, "task": "regression", "non_negative": True,
                            "candidates": [{"name": "ridge"}]})
    X = feature_frame(rows, spec)
    target = rows["x1"] * 2 + (rows["colour"] == "red") - 0.5
    pipeline = build_pipeline(spec, "ridge", {}).fit(X, target)
    explain.attach_reference(pipeline, X, spec)
    found = explain.Explainer(pipeline, spec).explain(X)
    unclipped = pipeline.named_steps["est"].estimator_.predict(
        pipeline.named_steps["pre"].transform(X))
    assert (unclipped < 0).any()  # the case where the raw score is not the clipped score
    np.testing.assert_allclose(found.base_value + found.contributions.sum(axis=1), unclipped,
                               rtol=0, atol=1e-6)
    # linear: the base value is the prediction of the training mean (the mean of the fit)
    np.testing.assert_allclose(found.base_value, unclipped.mean(), atol=1e-9)


def test_linear_contribution_is_coef_times_distance_from_the_training_mean(rows, spec):
    pipeline, X = fitted(rows, spec, "logistic_regression", {"max_iter": 500})
    found = explain.Explainer(pipeline, spec).explain(X)
    coef = pipeline.named_steps["est"].coef_[0]
    scaler = pipeline.named_steps["pre"].named_transformers_["num"][-1]
    x1 = X["x1"].to_numpy()  # no nulls: the imputer leaves it as it is
    expected = coef[0] * (x1 - scaler.mean_[0]) / scaler.scale_[0]
    np.testing.assert_allclose(found.contributions[:, 0], expected, atol=1e-9)
    # one-hot: the three columns of colour are one feature; a mean row contributes nothing
    assert explain.feature_groups(pipeline.named_steps["pre"], spec.features)[2].tolist() == \
        [2, 3, 4]


def test_top_reasons_rank_by_absolute_contribution_and_read_the_value():
    X = pd.DataFrame({"a": [5.0, 1.0, np.nan], "b": [0.0, 9.0, 2.0],
                      "plan": pd.Series(["gold", None, "basic"], dtype=object)})
    contributions = np.array([[0.5, -2.0, 0.1],
                              [-0.3, 0.3, 1.0],   # a tie: the spec's order breaks it (a first)
                              [0.0, 0.0, -0.25]])
    found = explain.Explanations(np.zeros(3), np.zeros(3), contributions,
                                 ("a", "b", "plan"), "linear")
    reference = {"raw": {"a": 2.0, "b": 3.0, "plan": "basic"}}
    got = explain.top_reasons(found, X, 2, reference)
    assert got["reason_features"].to_pylist() == [["b", "a"], ["plan", "a"], ["plan", "a"]]
    assert got["reason_contributions"].to_pylist() == [[-2.0, 0.5], [1.0, -0.3], [-0.25, 0.0]]
    assert got["reasons"].to_pylist() == [
        "b low (-2.00); a high (+0.50)",
        "plan = missing (+1.00); a low (-0.30)",
        "plan = basic (-0.25); a missing (+0.00)",
    ]
    everything = explain.top_reasons(found, X, 10, reference)  # top_k above the features: all
    assert [len(f) for f in everything["reason_features"].to_pylist()] == [3, 3, 3]


def test_other_estimators_use_replacement_and_still_add_up(rows):
    from sklearn.linear_model import SGDClassifier

    spec = specs.from_dict(SPEC)
    pipeline, X = fitted(rows, spec, "logistic_regression", {"max_iter": 500})
    pipeline.steps[-1] = ("est", SGDClassifier(loss="hinge", random_state=0).fit(
        pipeline.named_steps["pre"].transform(X), rows["label"]))
    found = explain.Explainer(pipeline, spec).explain(X.head(50))
    assert found.method == "replacement"
    # the replacement contribution of x1: the raw score minus the raw score with x1 at its mean
    changed = X.head(50).assign(x1=float(X["x1"].mean()))
    again = pipeline.named_steps["est"].decision_function(
        pipeline.named_steps["pre"].transform(changed))
    np.testing.assert_allclose(found.contributions[:, 0], found.raw_score - again, atol=1e-9)
    np.testing.assert_allclose(found.base_value + found.contributions.sum(axis=1),
                               found.raw_score, atol=1e-9)


def test_scoring_writes_explanations_on_every_row_only_when_asked(rows):
    spec = specs.from_dict({**SPEC, "explain": {"top_k": 2}})
    trained = training.fit(rows, spec)
    table = pa.Table.from_pandas(rows, preserve_index=False)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=333))
    scored = scoring.score_batches(trained.pipeline, reader, trained.spec, "v1",
                                   threshold=trained.threshold).read_all().to_pandas()
    assert len(scored) == len(rows) and scored.entity_id.tolist() == rows.entity_id.tolist()
    assert scored.reason_features.map(len).eq(2).all() and scored.reasons.notna().all()
    expected = trained.pipeline.predict_proba(feature_frame(rows, trained.spec))[:, 1]
    np.testing.assert_allclose(scored.score, expected, rtol=0, atol=1e-12)  # scores unchanged
    logit = np.log(scored.score / (1 - scored.score))  # the raw score of a classifier: log-odds
    np.testing.assert_allclose(scored.raw_score, logit, atol=1e-9)
    assert (scored.explanation_method == "linear").all()

    plain = specs.from_dict(SPEC)
    assert plain.explain_top_k == 0 and plain.fingerprint() == spec.fingerprint()  # unversioned
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=333))
    quiet = scoring.score_batches(trained.pipeline, reader, plain, "v1").read_all()
    assert quiet.column("reasons").null_count == len(rows)
    assert set(scoring.EXPLANATION_COLUMNS) <= set(quiet.schema.names)


def test_an_artifact_without_a_reference_is_named(rows, spec):
    X = feature_frame(rows, spec)
    pipeline = build_pipeline(spec, "logistic_regression", {"max_iter": 500}).fit(X, rows.label)
    with pytest.raises(ValueError, match="model 'toy' version v0: the artifact carries no"):
        explain.Explainer(pipeline, spec, "v0")


@pytest.mark.parametrize("name", ["logistic_regression", "hist_gradient_boosting"])
def test_a_feature_null_in_every_training_row_contributes_nothing(rows, name):
    """The median imputer drops a column with no median: the explanation still lines up with
    the features (it used to fail on every batch), and that feature's contribution is 0."""
    pytest.importorskip("shap") if name != "logistic_regression" else None
    rows = rows.assign(x2=np.nan)
    spec = specs.from_dict({**SPEC, "explain": {"top_k": 3}})
    pipeline, X = fitted(rows, spec, name, {"max_iter": 30} if name != "logistic_regression"
                         else {"max_iter": 500})
    found = explain.Explainer(pipeline, spec).explain(X)
    assert found.contributions.shape == (len(X), 3)
    np.testing.assert_array_equal(found.contributions[:, spec.features.index("x2")], 0.0)
    np.testing.assert_allclose(found.base_value + found.contributions.sum(axis=1),
                               found.raw_score, rtol=0, atol=1e-6)


def test_a_category_that_could_be_misread_is_quoted_and_tiny_contributions_read_zero():
    values = ["gold; (vip)", "missing", "", " padded", "it's", "a=b", "plain"]
    X = pd.DataFrame({"plan": pd.Series([*values, None], dtype=object)})
    contributions = np.array([[0.004], [-0.004], [1.0], [-1.0], [0.126], [12.3], [-0.005],
                              [0.0]])
    found = explain.Explanations(np.zeros(8), np.zeros(8), contributions, ("plan",), "linear")
    got = explain.top_reasons(found, X, 1, {"raw": {"plan": "plain"}})
    assert got["reasons"].to_pylist() == [
        "plan = 'gold; (vip)' (+0.00)", "plan = 'missing' (+0.00)", "plan = '' (+1.00)",
        "plan = ' padded' (-1.00)", "plan = 'it''s' (+0.13)", "plan = 'a=b' (+12.30)",
        "plan = plain (+0.00)", "plan = missing (+0.00)"]
