import numpy as np
import pytest

from mlmodels import registry, specs
from mlmodels.pipelines import feature_frame

pytestmark = pytest.mark.slow


def test_every_table_has_rows(built):
    for table in [
        "feat_customer__as_of", "ml_churn__training_set", "ml_model_registry",
        "ml_churn__reference_bins", "ml_churn__scores", "ml_churn__predictions",
        "ml_churn__feature_drift",
    ]:
        assert built.sql(f"select count(*) as n from {table}").n[0] > 0, table


def test_trap_column_never_reaches_the_mart(built):
    columns = set(built.sql("select * from ml_churn__training_set limit 0").columns)
    assert "cancelled_at" not in columns
    assert "cancelled_at" not in set(built.sql("select * from stg_demo__customers limit 0").columns)


def test_staging_removes_the_duplicate_events(built):
    counts = built.sql(
        "select (select count(*) from raw.events) as raw_rows,"
        " (select count(*) from (select distinct * from raw.events)) as distinct_rows,"
        " (select count(*) from stg_demo__events) as staged"
    )
    assert counts.raw_rows[0] > counts.distinct_rows[0] == counts.staged[0]


def test_one_champion_that_beats_the_prior_baseline(built):
    registry_rows = built.sql("select * from ml_model_registry")
    assert registry_rows.status.tolist() == ["champion"]
    row = registry_rows.iloc[0]
    assert row.test_roc_auc > row.baseline_test_roc_auc + 0.1
    assert row.test_roc_auc < 0.99  # the demo is learnable, not trivial
    assert registry.sha256_of(row.artifact_uri) == row.artifact_sha256


def test_scores_cover_the_score_split_and_equal_the_pipeline(built):
    rows = built.sql("select * from ml_churn__training_set where split = 'score'")
    scores = built.sql("select * from ml_churn__scores")
    assert len(scores) == len(rows)
    row = built.sql("select * from ml_model_registry").iloc[0]
    pipeline = registry.load_pipeline(row.artifact_uri, row.artifact_sha256, row.model_version)
    spec = specs.load(built.project / "ml" / "churn.yml")
    merged = rows.merge(scores, on=["customer_id", "as_of_date"], validate="one_to_one")
    expected = pipeline.predict_proba(feature_frame(merged, spec))[:, 1]
    np.testing.assert_allclose(merged.score.to_numpy(), expected, rtol=0, atol=1e-12)
    predictions = built.sql("select * from ml_churn__predictions")
    assert len(predictions) == len(scores)
    assert ((predictions.score >= row.threshold) == predictions.predicted_label.astype(bool)).all()


def test_rebuild_on_unchanged_data_keeps_the_version(built):
    before = built.sql("select model_version, trained_at from ml_model_registry")
    built.build("--select", "ml_churn__train+")
    after = built.sql("select model_version, trained_at from ml_model_registry")
    assert before.equals(after)
