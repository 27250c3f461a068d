import json

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlmodels.learn import training
from mlmodels.learn.pipelines import feature_frame
from mlmodels.learn.splits import time_ordered_folds
from mlmodels.serve import registry, scoring
from mlmodels.serve.promotion import train_and_register
from mlmodels.spec import specs
from tests.unit.toy import SPEC


def test_fit_uses_train_only_and_reports_every_split_and_baseline(rows, spec):
    trained = training.fit(rows, spec)
    for model in ("model", "prior", "linear"):
        for split in ("train", "valid", "test"):
            assert f"{model}/{split}" in trained.metrics
    assert trained.metrics["model/test"]["roc_auc"] > 0.7
    assert trained.metrics["prior/test"]["roc_auc"] == 0.5
    assert trained.windows["train"]["rows"] == (rows.split == "train").sum()
    # While choosing, the imputer saw train rows only: its median of x2 is train's median.
    imputer = trained.evaluated_pipeline.named_steps["pre"].named_transformers_["num"][0]
    assert imputer.statistics_[1] == pytest.approx(rows.loc[rows.split == "train", "x2"].median())
    # The deployed refit saw every labelled row; its drift reference is its latest window, test.
    labelled = rows[rows.split.isin(["train", "valid", "test"])]
    deployed = trained.pipeline.named_steps["pre"].named_transformers_["num"][0]
    assert deployed.statistics_[1] == pytest.approx(labelled.x2.median())
    bins = trained.reference_bins
    assert (bins.reference_total[bins.feature == "x1"] == (rows.split == "test").sum()).all()
    kept = training.fit(rows, specs.from_dict({**SPEC, "deploy": {"refit": "train"}}))
    assert kept.evaluated_pipeline is None and kept.windows["fit"] == kept.windows["train"]
    kept_bins = kept.reference_bins
    assert (kept_bins.reference_total[kept_bins.feature == "x1"]
            == (rows.split == "train").sum()).all()
    assert {"metrics", "curves", "confusion", "thresholds", "importances", "candidates",
            "learning_curve"} <= set(trained.evaluation)


def test_rule_baseline_is_evaluated_in_sql(rows):
    spec = specs.from_dict({**SPEC, "problem": {"rule_baseline": "x1 > 0.5"}})
    pulled = training.rows_with_rule(duckdb.connect().from_df(rows), spec)
    assert (pulled[training.RULE_COLUMN] == (pulled.x1 > 0.5)).all()
    trained = training.fit(pulled, spec)
    assert "rule/test" in trained.metrics
    broken = specs.from_dict({**SPEC, "problem": {"rule_baseline": "no_such_column > 1"}})
    with pytest.raises(specs.SpecError, match=r"problem\.rule_baseline"):
        training.rows_with_rule(duckdb.connect().from_df(rows), broken)


def test_version_is_stable_and_content_addressed(rows, spec):
    shuffled = rows.sample(frac=1, random_state=3)
    assert training.model_version(spec, rows) == training.model_version(spec, shuffled)
    changed = rows.copy()
    changed.loc[0, "x1"] += 1
    assert training.model_version(spec, rows) != training.model_version(spec, changed)


def test_register_is_idempotent_and_artifact_is_checked(rows, spec, tmp_path):
    first = train_and_register(rows, spec, tmp_path)
    again = train_and_register(rows.sample(frac=1, random_state=4), spec, tmp_path)
    assert len(first) == len(again) == 1
    assert first.equals(again)
    row = first.iloc[0]
    resolved, labelled_rows, _ = training.prepare(rows, spec)
    assert row.model_version == training.model_version(resolved, labelled_rows)  # content-hashed
    assert [p.name for p in (tmp_path / "toy").iterdir()] == sorted(
        ["registry.json", row.model_version])  # the second run trained and saved nothing
    assert registry.sha256_of(row.artifact_uri) == row.artifact_sha256
    pipeline = registry.load_pipeline(row.artifact_uri, row.artifact_sha256, row.model_version)
    # The artifact is the deployed fit of these rows: a fit in memory predicts the same.
    labelled = feature_frame(rows, spec)
    np.testing.assert_array_equal(pipeline.predict_proba(labelled),
                                  training.fit(rows, spec).pipeline.predict_proba(labelled))
    with open(row.artifact_uri, "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(registry.ArtifactError, match=row.model_version):
        registry.load_pipeline(row.artifact_uri, row.artifact_sha256, row.model_version)


def test_missing_column_and_empty_split_are_named(rows, spec):
    with pytest.raises(specs.SpecError, match="has no column 'x2'"):
        training.fit(rows.drop(columns="x2"), spec)
    with pytest.raises(training.TrainingDataError, match="split 'valid' has no rows"):
        training.fit(rows[rows.split != "valid"], spec)


def test_test_split_is_looked_at_once(rows):
    """Shuffling the test labels changes no choice: selection, parameters, threshold."""
    spec = specs.from_dict({**SPEC, "candidates": [
        {"name": "logistic_regression", "params": {"max_iter": 500}, "grid": {"C": [0.01, 1.0]}},
        {"name": "hist_gradient_boosting", "params": {"max_iter": 30}},
    ]})
    shuffled = rows.copy()
    test = shuffled.split == "test"
    rng = np.random.default_rng(9)
    shuffled.loc[test, "label"] = rng.permutation(shuffled.loc[test, "label"].to_numpy())
    a, b = training.fit(rows, spec), training.fit(shuffled, spec)
    # (The deployed refit then learns from test too: its threshold is not a choice made here.)
    assert (a.estimator, a.params, a.evaluated_threshold) == (
        b.estimator, b.params, b.evaluated_threshold)
    timing = {"fit_seconds", "latency_ms_per_1000"}

    def choices(trained):
        return [{k: v for k, v in c.items() if k not in timing}
                for c in trained.evaluation["candidates"]]

    assert choices(a) == choices(b)
    assert a.metrics["model/valid"] == b.metrics["model/valid"]
    assert a.metrics["model/test"] != b.metrics["model/test"]  # the test metrics did see them


def test_leakage_audit_names_the_feature(rows):
    leaky = rows.assign(leak=rows.label * 10 + np.random.default_rng(1).normal(size=len(rows)))
    spec = specs.from_dict({**SPEC, "features": {"numeric": ["x1", "x2", "leak"],
                                                 "categorical": ["colour"]}})
    with pytest.raises(training.LeakageError, match="feature 'leak' alone has ROC AUC"):
        training.fit(leaky, spec)
    allowed = specs.from_dict({**SPEC, "features": {"numeric": ["x1", "x2", "leak"]},
                               "leakage": {"allow": ["leak"]}})
    training.fit(leaky, allowed)
    # A leak hidden in the missing values is caught too (NaN exactly on the positives).
    hidden = rows.assign(leak=np.where(rows.label == 1, np.nan, 1.0))
    with pytest.raises(training.LeakageError, match="'leak'"):
        training.fit(hidden, spec)


def test_regression_task(rows):
    target = rows.x1 * 3 + rows.x2.fillna(0) + np.random.default_rng(2).normal(size=len(rows))
    spec = specs.from_dict({
        "name": "toy_reg", "target": "y", "entity_key": "entity_id", "task": "regression",
        "features": {"numeric": ["x1", "x2"], "categorical": ["colour"]},
        "candidates": [{"name": "ridge", "grid": {"alpha": [0.1, 10.0]}},
                       {"name": "hist_gradient_boosting", "params": {"max_iter": 30}}],
        "problem": {"success": {"metric": "r2", "target": 0.5}},
        "search": {"cv_folds": 2},
    })
    trained = training.fit(rows.assign(y=target), spec)
    assert trained.threshold is None
    assert trained.metrics["model/test"]["r2"] > 0.8
    assert trained.metrics["prior/test"]["r2"] <= 0.01
    assert trained.score("model", "test") < trained.score("prior", "test")  # rmse: lower is better
    assert trained.evaluation["thresholds"] == [] and trained.evaluation["importances"]


def test_snapshot_data_gets_a_stratified_random_split(rows, tmp_path):
    snapshot = rows[rows.as_of_date == rows.as_of_date.min()].drop(columns=["as_of_date", "split"])
    snapshot = snapshot.assign(entity_id=range(len(snapshot)))
    spec = specs.from_dict({**SPEC, "as_of": None, "split": {"valid_fraction": 0.25,
                                                             "test_fraction": 0.25}})
    registered = train_and_register(snapshot, spec, tmp_path)
    row = registered.iloc[0]
    assert row.split_strategy == "stratified_random"
    assert (row.train_rows, row.valid_rows, row.test_rows) == (100, 50, 50)
    _, prepared, _ = training.prepare(snapshot, spec)
    rates = prepared.groupby("split").label.mean()
    assert rates.max() - rates.min() < 0.03  # each split keeps the class balance


def test_scoring_batches_equal_predict_proba(rows, spec):
    trained = training.fit(rows, spec)
    table = pa.Table.from_pandas(rows, preserve_index=False)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=333))
    scored = scoring.score_batches(trained.pipeline, reader, trained.spec, "v1",
                                   threshold=trained.threshold).read_all().to_pandas()
    expected = trained.pipeline.predict_proba(feature_frame(rows, trained.spec))[:, 1]
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=0, atol=1e-12)
    assert (scored.model_version == "v1").all() and (scored.role == "champion").all()
    assert (scored.predicted_label == (expected >= trained.threshold)).all()
    assert scored.entity_id.tolist() == rows.entity_id.tolist()


def test_without_cross_validation_every_parameter_set_is_compared_on_valid(rows):
    spec = specs.from_dict({**SPEC, "search": {"cv_folds": 0}, "selection_metric": "roc_auc",
                            "candidates": [{"name": "logistic_regression",
                                            "params": {"max_iter": 500},
                                            "grid": {"C": [0.001, 1.0]}}]})
    _, prepared, _ = training.prepare(rows, spec)
    parts = {s: prepared[prepared.split == s] for s in training.SPLITS}
    X = {s: feature_frame(p, spec) for s, p in parts.items()}
    y = {s: p.label.to_numpy() for s, p in parts.items()}
    X_fit, y_fit, groups, cv = training.search_split(spec, parts, X, y)
    # the search's one fold fits on train and scores on valid
    [(fit_rows, scored_rows)] = list(cv.split(X_fit, y_fit, groups))
    assert X_fit.iloc[fit_rows].equals(X["train"]) and X_fit.iloc[scored_rows].equals(X["valid"])
    trained = training.fit(rows, spec)
    candidates = trained.evaluation["candidates"]
    table = candidates if isinstance(candidates, list) else candidates.to_dict("records")
    assert len(table) == 2 and all(np.isnan(r["cv_mean"]) for r in table)
    best = max(table, key=lambda r: r["valid_score"])
    assert [r["selected"] for r in table] == [r is best for r in table]
    assert json.loads(best["params"])["C"] == trained.params["C"]  # params are stored as JSON
    with pytest.raises(specs.SpecError, match=r"search\.cv_folds"):
        specs.from_dict({**SPEC, "search": {"cv_folds": 1}})


def test_the_search_scores_the_metric_training_computes_on_the_time_ordered_folds(rows, spec):
    """cv_mean and cv_std are exactly the mean and std of the selection metric over the folds."""
    trained = training.fit(rows, spec)
    [record] = trained.evaluation["candidates"]
    resolved, prepared, _ = training.prepare(rows, spec)
    train = prepared[prepared.split == "train"]
    X, y = feature_frame(train, resolved), train.label.to_numpy()
    scores = []
    for fit_rows, scored_rows in time_ordered_folds(train.as_of_date, resolved.cv_folds):
        fitted = training.fit_configuration(resolved, "logistic_regression", {"max_iter": 500},
                                            X.iloc[fit_rows], y[fit_rows])
        scores.append(training.metric_value(
            y[scored_rows], training.predict(fitted, X.iloc[scored_rows], resolved), resolved))
    assert (record["cv_mean"], record["cv_std"]) == (np.mean(scores), np.std(scores))


def test_the_fit_does_not_depend_on_how_many_fits_run_at_once(rows, spec, monkeypatch):
    """Fits run side by side in threads; every result must equal the one-at-a-time run."""
    by_jobs = {}
    for jobs in ("1", "2"):
        monkeypatch.setenv("MLMODELS_N_JOBS", jobs)
        by_jobs[jobs] = training.fit(rows, spec)
    one, two = by_jobs["1"], by_jobs["2"]
    assert one.metrics == two.metrics
    assert (one.estimator, one.params, one.threshold) == (two.estimator, two.params, two.threshold)
    timings = ["fit_seconds", "latency_ms_per_1000"]
    for table in ("candidates", "learning_curve", "importances", "thresholds", "curves"):
        pd.testing.assert_frame_equal(
            pd.DataFrame(one.evaluation[table]).drop(columns=timings, errors="ignore"),
            pd.DataFrame(two.evaluation[table]).drop(columns=timings, errors="ignore"))
    labelled = feature_frame(rows, spec)
    np.testing.assert_array_equal(one.pipeline.predict_proba(labelled),
                                  two.pipeline.predict_proba(labelled))


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_n_jobs_setting_names_the_variable(monkeypatch, value):
    from mlmodels.learn import parallel

    monkeypatch.setenv("MLMODELS_N_JOBS", value)
    with pytest.raises(ValueError, match="MLMODELS_N_JOBS must be a positive integer"):
        parallel.n_jobs()



def test_the_data_fingerprint_reads_values_not_dtypes(rows, spec):
    from mlmodels.learn.training import data_fingerprint

    base = data_fingerprint(rows, spec)
    # As another engine types the same values: wider integers, floats, dates as timestamps.
    retyped = rows.assign(entity_id=rows.entity_id.astype("int32"),
                          label=rows.label.astype("float64"),
                          as_of_date=rows.as_of_date.astype("datetime64[us]"))
    assert data_fingerprint(retyped, spec) == base
    assert data_fingerprint(rows.sample(frac=1, random_state=0), spec) == base
    changed = rows.copy()
    changed.loc[0, "x1"] += 1e-9
    assert data_fingerprint(changed, spec) != base


@pytest.mark.parametrize("estimator", ["logistic_regression", "hist_gradient_boosting"])
def test_importances_permuting_transformed_columns_equal_permuting_the_feature(rows, estimator):
    """The importances permute each feature's transformed columns: the same as the raw feature.

    Imputed and scaled numbers, one-hot and target-encoded categories, and a feature all null in
    training (its imputer drops it: no transformed column, importance zero).
    """
    from functools import partial

    from mlmodels.learn import permutation
    from mlmodels.learn.pipelines import build_pipeline

    rows = rows.assign(shade=np.where(rows.x1 > 0.3, "dark", "light"), empty=np.nan)
    spec = specs.from_dict({
        **SPEC, "candidates": [{"name": estimator, "params": {}}],
        "features": {"numeric": ["x1", "x2", "empty"], "categorical": ["colour", "shade"],
                     "encoding": {"shade": "target"}}})
    X, y = feature_frame(rows, spec), rows.label.to_numpy()
    pipeline = build_pipeline(spec).fit(X, y)
    assert isinstance(pipeline[:-1].transform(X), np.ndarray)  # the grouped path is taken
    got = pd.DataFrame(training.importances(pipeline, X, y, spec, max_rows=len(X)))
    means, stds = permutation.permutation_importances(
        X, y, lambda frame: training.predict(pipeline, frame, spec),
        partial(training.metric_value, spec=spec), True, n_repeats=3,
        random_state=spec.random_state)
    assert list(got.feature) == list(X.columns)
    np.testing.assert_allclose(got.importance_mean, means, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.importance_std, stds, rtol=0, atol=1e-12)
    assert got.importance_mean[list(X.columns).index("empty")] == 0
    assert got.importance_mean.abs().max() > 0.01  # not vacuous: some feature matters
