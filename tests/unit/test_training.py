import numpy as np
import pyarrow as pa
import pytest

from mlmodels import registry, scoring, training


def test_fit_uses_train_only_and_reports_all_splits(rows, spec):
    trained = training.fit(rows, spec)
    assert set(trained.metrics) == {
        "train", "valid", "test", "baseline_train", "baseline_valid", "baseline_test"
    }
    assert trained.metrics["test"]["roc_auc"] > 0.7
    assert trained.metrics["baseline_test"]["roc_auc"] == 0.5
    assert trained.windows["train"]["rows"] == (rows.split == "train").sum()
    # The imputer saw train rows only: its median of x2 is train's median.
    imputer = trained.pipeline.named_steps["pre"].named_transformers_["num"][0]
    train_x2 = rows.loc[rows.split == "train", "x2"]
    assert imputer.statistics_[1] == pytest.approx(train_x2.median())
    assert (trained.reference_bins.reference_total[trained.reference_bins.feature == "x1"]
            == (rows.split == "train").sum()).all()


def test_version_is_stable_and_content_addressed(rows, spec):
    shuffled = rows.sample(frac=1, random_state=3)
    assert training.model_version(spec, rows) == training.model_version(spec, shuffled)
    changed = rows.copy()
    changed.loc[0, "x1"] += 1
    assert training.model_version(spec, rows) != training.model_version(spec, changed)


def test_register_is_idempotent_and_artifact_is_checked(rows, spec, tmp_path):
    first = training.train_and_register(rows, spec, tmp_path)
    again = training.train_and_register(rows.sample(frac=1, random_state=4), spec, tmp_path)
    assert first.equals(again)
    row = first.iloc[0]
    assert registry.sha256_of(row.artifact_uri) == row.artifact_sha256
    pipeline = registry.load_pipeline(row.artifact_uri, row.artifact_sha256, row.model_version)
    assert hasattr(pipeline, "predict_proba")
    with open(row.artifact_uri, "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(registry.ArtifactError, match=row.model_version):
        registry.load_pipeline(row.artifact_uri, row.artifact_sha256, row.model_version)


def test_missing_column_and_empty_split_are_named(rows, spec):
    with pytest.raises(training.TrainingDataError, match="column 'x2' is missing"):
        training.fit(rows.drop(columns="x2"), spec)
    with pytest.raises(training.TrainingDataError, match="split 'valid' has no rows"):
        training.fit(rows[rows.split != "valid"], spec)


def test_max_f1_threshold_is_best_on_the_curve():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 500)
    scores = np.clip(labels * 0.3 + rng.random(500) * 0.7, 0, 1)
    threshold = training.max_f1_threshold(labels, scores)

    def f1(t):
        predicted = scores >= t
        tp = (predicted & (labels == 1)).sum()
        return 2 * tp / (predicted.sum() + labels.sum())

    assert f1(threshold) == pytest.approx(max(f1(t) for t in np.unique(scores)))


def test_scoring_batches_equal_predict_proba(rows, spec):
    trained = training.fit(rows, spec)
    table = pa.Table.from_pandas(rows, preserve_index=False)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=333))
    scored = scoring.score_batches(trained.pipeline, reader, spec, "v1").read_all().to_pandas()
    from mlmodels.pipelines import feature_frame

    expected = trained.pipeline.predict_proba(feature_frame(rows, spec))[:, 1]
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=0, atol=1e-12)
    assert (scored.model_version == "v1").all() and (scored.role == "champion").all()
    assert scored.entity_id.tolist() == rows.entity_id.tolist()
