"""LightGBM and XGBoost candidates by import path: fitted, registered, verified, loaded, scored.

They need the ``boosting`` extra (``pip install 'mlmodels[boosting]'``); ``make test`` and CI
install it, elsewhere these tests skip, saying so.
"""

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import r2_score, roc_auc_score

from mlmodels.learn import training
from mlmodels.learn.pipelines import build_pipeline, feature_frame
from mlmodels.serve import promotion, registry, scoring
from mlmodels.spec import specs
from tests.unit.toy import SPEC

MISSING = "needs {0}, from the boosting extra: pip install 'mlmodels[boosting]' (CI installs it)"


@pytest.fixture
def lightgbm():
    return pytest.importorskip("lightgbm", reason=MISSING.format("LightGBM"))


@pytest.fixture
def xgboost():
    return pytest.importorskip("xgboost", reason=MISSING.format("XGBoost"))


def register(rows, spec, root, monkeypatch) -> tuple[dict, training.TrainedModel]:
    """Train and register a version; return its registry row and the run held in memory."""
    trained = []

    def keep(*args, **kwargs):
        trained.append(training.fit(*args, **kwargs))
        return trained[-1]

    monkeypatch.setattr(promotion, "fit", keep)
    row = promotion.train_and_register(rows, spec, root).iloc[0].to_dict()
    [run] = trained
    return row, run


@pytest.fixture
def lgbm_spec(lightgbm) -> specs.ModelSpec:
    return specs.from_dict({**SPEC, "candidates": [
        {"name": "lightgbm.LGBMClassifier", "params": {"n_estimators": 40, "learning_rate": 0.1},
         "grid": {"num_leaves": [4, 8]}}]})


@pytest.fixture
def lgbm_champion(rows, lgbm_spec, tmp_path, monkeypatch):
    return register(rows, lgbm_spec, tmp_path / "store", monkeypatch)


def scored(row: dict, spec: specs.ModelSpec, rows: pd.DataFrame) -> pd.DataFrame:
    """Score rows through the registered scorer, as the scores model does (verified load)."""
    [scorer] = scoring.registered_scorers(pd.DataFrame([{**row, "status": "champion"}]), spec)
    table = pa.Table.from_pandas(rows, preserve_index=False)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=500))
    return scoring.score_batches(scorer.pipeline, reader, scorer.spec, row["model_version"],
                                 threshold=scorer.threshold).read_all().to_pandas()


def test_a_lightgbm_candidate_is_searched_registered_verified_and_scores_as_trained(
        lgbm_champion, rows, lgbm_spec, lightgbm):
    row, run = lgbm_champion
    candidates = pd.DataFrame(run.evaluation["candidates"])
    assert sorted(candidates.params.map(lambda p: json.loads(p)["num_leaves"])) == [4, 8]
    assert row["estimator"] == "lightgbm.LGBMClassifier"
    assert (row["estimator_library"], row["estimator_library_version"]) == (
        "lightgbm", lightgbm.__version__)
    assert registry.load_metadata(row["artifact_uri"])["estimator_library_version"] == \
        lightgbm.__version__
    loaded = registry.load_verified(row)
    estimator = loaded["est"]
    assert isinstance(estimator, lightgbm.LGBMClassifier)
    # One thread per fit: training runs the fits side by side on every core already.
    assert estimator.get_params()["n_jobs"] == 1
    known = feature_frame(rows, run.spec)
    expected = run.pipeline.predict_proba(known)[:, 1]
    np.testing.assert_array_equal(loaded.predict_proba(known)[:, 1], expected)
    assert roc_auc_score(rows.label, expected) > 0.7
    scores = scored(row, lgbm_spec, rows)
    np.testing.assert_allclose(scores["score"].to_numpy(), expected, rtol=0, atol=1e-12)


def test_a_flipped_byte_of_a_lightgbm_artifact_is_refused(lgbm_champion, monkeypatch):
    row, _ = lgbm_champion
    path = Path(row["artifact_uri"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    unpickled = []
    monkeypatch.setattr(registry.joblib, "load", lambda *a, **k: unpickled.append(a))
    with pytest.raises(registry.ArtifactError, match=f"{row['model_version']}: artifact .* has "
                       f"sha256 .*, but the registry recorded {row['artifact_sha256']}"):
        registry.load_verified(row)
    assert unpickled == []


def test_another_estimator_library_version_is_refused_unless_allowed(lgbm_champion, monkeypatch):
    row, _ = lgbm_champion
    old = {**row, "estimator_library": "lightgbm", "estimator_library_version": "3.3.5"}
    with pytest.raises(registry.LibraryMismatchError, match=r"trained with lightgbm 3\.3\.5, but "
                       r"lightgbm .* is running; retrain it"):
        registry.load_verified(old)
    with pytest.raises(registry.LibraryMismatchError, match=r"lightgbm 3\.3\.5"):
        # a Spark worker re-checks the shipped bytes with the same fields
        registry.load_shipped(Path(row["artifact_uri"]).read_bytes(), old)
    monkeypatch.setenv("MLMODELS_ALLOW_LIBRARY_MISMATCH", "1")
    with pytest.warns(UserWarning, match=r"lightgbm 3\.3\.5.*loading anyway"):
        registry.load_verified(old)


def test_an_estimator_library_that_is_not_installed_is_refused_even_when_allowed(
        lgbm_champion, monkeypatch):
    row, _ = lgbm_champion
    monkeypatch.setenv("MLMODELS_ALLOW_LIBRARY_MISMATCH", "1")
    gone = {**row, "estimator_library": "mlmodels_no_such_booster",
            "estimator_library_version": "1.0"}
    with pytest.raises(registry.LibraryMismatchError,
                       match=r"mlmodels_no_such_booster 1\.0, which is not installed"):
        registry.load_verified(gone)


def test_a_shipped_lightgbm_scorer_is_verified_again_where_it_is_unpickled(lgbm_champion,
                                                                          lgbm_spec):
    row, _ = lgbm_champion
    [scorer] = scoring.registered_scorers(pd.DataFrame([{**row, "status": "champion"}]), lgbm_spec)
    assert scorer.shipped[1]["estimator_library"] == "lightgbm"
    copy = pickle.loads(pickle.dumps(scorer))
    assert type(copy.pipeline["est"]) is type(scorer.pipeline["est"])


def test_an_xgboost_regressor_round_trips_through_the_registry(rows, tmp_path, monkeypatch,
                                                               xgboost):
    target = 3 * rows.x1 + np.where(rows.colour == "red", 2.0, 0.0) + \
        np.random.default_rng(1).normal(scale=0.5, size=len(rows))
    frame = rows.assign(y=target)
    spec = specs.from_dict({
        "name": "toy_reg", "target": "y", "entity_key": "entity_id", "task": "regression",
        "features": {"numeric": ["x1", "x2"], "categorical": ["colour"]},
        "candidates": [{"name": "xgboost.XGBRegressor",
                        "params": {"n_estimators": 60, "learning_rate": 0.2},
                        "grid": {"max_depth": [2, 3]}}],
        "search": {"cv_folds": 2},
    })
    row, run = register(frame, spec, tmp_path / "store", monkeypatch)
    assert (row["estimator"], row["estimator_library"], row["estimator_library_version"]) == (
        "xgboost.XGBRegressor", "xgboost", xgboost.__version__)
    assert run.metrics["model/test"]["r2"] > 0.8
    loaded = registry.load_verified(row)
    assert isinstance(loaded["est"], xgboost.XGBRegressor)
    assert loaded["est"].get_params()["n_jobs"] == 1
    known = feature_frame(frame, run.spec)
    np.testing.assert_array_equal(loaded.predict(known), run.pipeline.predict(known))
    assert r2_score(frame.y, loaded.predict(known)) > 0.8
    scores = scored(row, spec, frame)
    np.testing.assert_allclose(scores["score"].to_numpy(), run.pipeline.predict(known),
                               rtol=1e-6, atol=1e-6)
    # and its artifact is refused after one flipped byte, as any other
    path = Path(row["artifact_uri"])
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(registry.ArtifactError, match=r"has sha256 .*, but the registry recorded"):
        registry.load_verified(row)


def test_the_library_version_is_part_of_the_model_version(rows, lgbm_spec, monkeypatch):
    before = training.model_version(lgbm_spec, rows)
    monkeypatch.setattr(training.estimators, "library_version", lambda library: "0.0.0")
    assert training.model_version(lgbm_spec, rows) != before


def test_xgboost_scores_the_same_rows_alike_however_many_categories_they_have(xgboost):
    """30 one-hot columns would make a sparse matrix, whose left-out zeros XGBoost reads as
    missing: the pipeline gives it a dense array, so its predictions are those of the values."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=4000), "x2": rng.integers(0, 3, 4000) * 1.0,
                          "city": rng.choice([f"c{i}" for i in range(30)], 4000)})
    y = frame.x1 + 2.0 * (frame.x2 == 0) + rng.normal(scale=0.1, size=4000)
    spec = specs.from_dict({"name": "t", "target": "y", "task": "regression",
                            "features": {"numeric": ["x1", "x2"], "categorical": ["city"]},
                            "candidates": [{"name": "xgboost.XGBRegressor"}]})
    X = feature_frame(frame, spec)
    pipeline = build_pipeline(spec, "xgboost.XGBRegressor", {"n_estimators": 50}).fit(X, y)
    encoded = pipeline["pre"].transform(X)
    dense = encoded.toarray() if hasattr(encoded, "toarray") else encoded
    np.testing.assert_array_equal(pipeline["est"].predict(dense), pipeline.predict(X))


@pytest.mark.parametrize(("name", "task"), [("lightgbm.LGBMClassifier", "classification"),
                                            ("xgboost.XGBClassifier", "classification"),
                                            ("lightgbm.LGBMRegressor", "regression"),
                                            ("xgboost.XGBRegressor", "regression")])
def test_boosting_reason_codes_are_the_libraries_own_and_add_up_to_the_raw_score(rows, name,
                                                                                 task):
    """LightGBM's pred_contrib and XGBoost's pred_contribs: per original feature (colour's
    one-hot columns summed), bias + contributions = the margin; a classifier's margin is the
    log-odds of its probability."""
    from mlmodels.learn import explain

    pytest.importorskip(name.split(".")[0], reason=MISSING.format(name.split(".")[0]))
    frame = rows.assign(y=3 * rows.x1 + np.where(rows.colour == "red", 2.0, 0.0))
    spec = specs.from_dict({**SPEC, "candidates": [{"name": name}]} if task == "classification"
                           else {**SPEC, "target": "y", "task": "regression",
                                 "candidates": [{"name": name}]})
    X = feature_frame(frame, spec)
    target = frame["label"] if task == "classification" else frame["y"]
    pipeline = build_pipeline(spec, name, {"n_estimators": 30}).fit(X, target)
    explain.attach_reference(pipeline, X, spec)
    found = explain.Explainer(pipeline, spec).explain(X)
    assert found.method == "tree_native" and found.contributions.shape == (len(X), 3)
    np.testing.assert_allclose(found.base_value + found.contributions.sum(axis=1),
                               found.raw_score, rtol=0, atol=1e-4)
    if task == "classification":
        probability = pipeline.predict_proba(X)[:, 1]
        np.testing.assert_allclose(found.raw_score, np.log(probability / (1 - probability)),
                                   atol=1e-5)
    else:
        np.testing.assert_allclose(found.raw_score, pipeline.predict(X), rtol=1e-6, atol=1e-6)
    # x1 drives the target: it is the largest contribution on most rows
    assert (np.abs(found.contributions).argmax(axis=1) == 0).mean() > 0.5


def test_an_estimator_from_a_package_without_a_version_loads(rows, tmp_path, monkeypatch):
    """A user's own package on the path, with no ``__version__`` and no metadata, still loads.

    Its version is recorded as null, and a null is not "not installed".
    """
    package = tmp_path / "house_models"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from sklearn.linear_model import LogisticRegression\n\n\n"
        "class HouseClassifier(LogisticRegression):\n"
        "    \"\"\"The house's own logistic regression.\"\"\"\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "house_models", raising=False)
    spec = specs.from_dict({**SPEC, "candidates": [
        {"name": "house_models.HouseClassifier", "params": {"max_iter": 500}}]})
    row, run = register(rows, spec, tmp_path / "store", monkeypatch)
    assert (row["estimator_library"], row["estimator_library_version"]) == ("house_models", None)
    loaded = registry.load_verified(row)
    assert type(loaded["est"]).__name__ == "HouseClassifier"
    known = feature_frame(rows, run.spec)
    np.testing.assert_array_equal(loaded.predict_proba(known), run.pipeline.predict_proba(known))
    # gone from the path, it is refused with the hint, and without a version to pin
    monkeypatch.setattr(registry.estimators, "is_installed", lambda library: False)
    with pytest.raises(registry.LibraryMismatchError,
                       match=r"trained with house_models, which is not installed; install "
                             r"house_models to load it"):
        registry.load_verified(row)
