import json

import numpy as np
import pandas as pd
import pytest

from mlmodels import demo
from mlmodels.learn.pipelines import feature_frame
from mlmodels.serve import registry
from mlmodels.serve.promotion import features_of
from mlmodels.spec import specs
from tests.integration.helpers import new_warehouse

pytestmark = pytest.mark.slow


KEYS = ["customer_id", "as_of_date"]


def keys(frame: pd.DataFrame, columns=KEYS) -> set[tuple]:
    return set(frame[columns].itertuples(index=False, name=None))


@pytest.mark.parametrize("name", ["churn", "spend"])
def test_every_table_holds_the_rows_its_inputs_imply(built, name):
    """Row for row, what each model's tables must hold given its training set and its spec."""
    row = built.sql(f"select * from ml_model_registry where model_name = '{name}'").iloc[0]
    version = row.model_version
    spec = features_of(specs.load(built.project / "ml" / f"{name}.yml"), row.to_dict())
    features = set(spec.features)
    drifted = features - set(spec.drift_exclude)
    training = built.sql(f"select customer_id, as_of_date, split, is_label_mature"
                         f" from ml_{name}__training_set")
    assert not training.duplicated(KEYS).any()
    assert built.sql(f"select model_version from ml_{name}__train").model_version.tolist() == [
        version]
    # Scores and predictions: one row per training row after the fit window.
    scores = built.sql(f"select * from ml_{name}__scores")
    assert len(scores) == len(keys(scores))
    assert keys(scores) == keys(training[training.as_of_date > row.fit_to])
    assert keys(built.sql(f"select * from ml_{name}__predictions")) == keys(scores)
    scored = sorted(set(scores.as_of_date))
    # Monitoring: per scored as_of, one prediction drift and one retrain signal row, and a drift
    # row per feature (those growing by construction left out); realised performance on the
    # scored as_ofs whose labels have matured (none for churn, refitted through the latest).
    for table in ("prediction_drift", "retrain_signal"):
        monitored = built.sql(f"select * from ml_{name}__{table} order by as_of_date")
        assert monitored.as_of_date.tolist() == scored, table
        assert set(monitored.model_version) == {version}, table
    drift = built.sql(f"select feature, as_of_date from ml_{name}__feature_drift")
    assert len(drift) == len(drifted) * len(scored)
    assert keys(drift, ["feature", "as_of_date"]) == {(f, d) for f in drifted for d in scored}
    mature = set(training[training.is_label_mature].as_of_date)
    realised = built.sql(f"select as_of_date from ml_{name}__realised_performance")
    assert sorted(realised.as_of_date) == [d for d in scored if d in mature]
    assert (name == "churn") == realised.empty
    # The version's reference bins: the drifted features and the score.
    bins = built.sql(f"select distinct feature from ml_reference_bins where model_version ="
                     f" '{version}'")
    assert set(bins.feature) == drifted | {"score"}
    # Evaluation: an importance per feature; the learning curve ends at the whole train split.
    importances = built.sql(f"select feature from ml_evaluation__importances where"
                            f" model_version = '{version}'")
    assert sorted(importances.feature) == sorted(features)
    curve = built.sql(f"select train_rows from ml_evaluation__learning_curve where"
                      f" model_version = '{version}' order by train_rows")
    assert len(curve) == 3 and curve.train_rows.iloc[-1] == row.train_rows
    # The classifier's confusion matrices and threshold table: valid and test, 0.01 to 0.99.
    confusion = built.sql(f"select * from ml_evaluation__confusion where model_version ="
                          f" '{version}'")
    thresholds = built.sql(f"select threshold, is_chosen, reason from ml_evaluation__thresholds"
                           f" where model_version = '{version}' order by 1")
    if name == "churn":
        assert sorted(confusion.split) == ["test", "valid"]
        for split in ("valid", "test"):
            counts = confusion[confusion.split == split][["tp", "fp", "tn", "fn"]].sum(axis=1)
            assert counts.tolist() == [row[f"{split}_rows"]], split
        # the grid, and the threshold the spec's policy chose (evaluated), flagged with its why
        chosen = thresholds[thresholds.is_chosen]
        assert chosen.threshold.tolist() == [row.evaluated_threshold]
        assert chosen.reason.iloc[0].startswith("threshold policy cost (fp 5, fn 40, tp_value 30)")
        np.testing.assert_allclose(thresholds[~thresholds.is_chosen].threshold,
                                   [t for t in np.arange(1, 100) / 100
                                    if not np.isclose(t, row.evaluated_threshold)])
    else:
        assert confusion.empty and thresholds.empty
    # The decision: churn's team calls 200 a month (problem.capacity); spend names no capacity.
    predictions = built.sql(f"select * from ml_{name}__predictions")
    per_as_of = predictions.groupby(["model_version", "as_of_date"])
    if name == "churn":
        assert (per_as_of.is_selected.sum() == per_as_of.size().clip(upper=200)).all()
        assert (per_as_of.decision_capacity.max() == per_as_of.size().clip(upper=200)).all()
        top = predictions[predictions.is_selected]
        assert (top.risk_band == "high").all() and (top.score_rank <= 200).all()
        assert (predictions.risk_band == "high").sum() == top.shape[0]
    else:
        assert predictions.is_selected.isna().all() and predictions.risk_band.isna().all()
    assert (per_as_of.score_rank.max() == per_as_of.size()).all()


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


def test_each_model_has_a_champion_that_beats_its_baselines(built):
    rows = built.sql("select * from ml_model_registry").set_index("model_name")
    assert rows.status.to_dict() == {"churn": "champion", "spend": "champion"}
    churn, spend = rows.loc["churn"], rows.loc["spend"]
    auc = built.sql("select value from ml_evaluation__metrics where model_name = 'churn' "
                    "and model = 'model' and split = 'test' and metric = 'roc_auc'").value[0]
    assert 0.7 < auc < 0.95  # the demo is learnable, not trivial
    assert churn.test_score > churn.baseline_prior_test_score + 0.1  # PR AUC over the base rate
    assert spend.test_score < spend.baseline_prior_test_score  # RMSE below predicting the mean
    for row in (churn, spend):
        assert row.met_criterion and row.beat_rule and row.meets_constraints
        assert registry.sha256_of(row.artifact_uri) == row.artifact_sha256
    assert churn.split_strategy == "time"


def test_the_champion_is_deployed_fitted_on_every_matured_row(built):
    """Deploy on recent data: the fit window ends at the latest matured as_of, not at train_to."""
    row = built.sql("select * from ml_model_registry where model_name = 'churn'").iloc[0]
    matured = built.sql("select max(as_of_date) as last, count(*) as n from ml_churn__"
                        "training_set where split in ('train', 'valid', 'test')")
    assert row.fit_to == matured["last"][0] == row.test_to
    assert row.fit_rows == matured.n[0] == row.train_rows + row.valid_rows + row.test_rows
    assert row.deploy_refit == "all" and row.evaluated_artifact_uri
    spend = built.sql("select * from ml_model_registry where model_name = 'spend'").iloc[0]
    assert spend.deploy_refit == "train" and spend.fit_to == spend.train_to  # deploy.refit: train
    # The build that promotes it sees no reason to retrain: its reference is its latest window.
    signal = built.sql("select * from ml_churn__retrain_signal order by as_of_date")
    assert len(signal) and not signal.retrain_recommended.any(), signal.reasons.tolist()


def test_no_spend_forecast_is_negative(built):
    assert built.sql("select min(score) as low from ml_spend__scores").low[0] >= 0


def test_scores_cover_the_score_split_and_equal_the_pipeline(built):
    row = built.sql("select * from ml_model_registry where model_name = 'churn'").iloc[0]
    rows = built.sql("select * from ml_churn__training_set where as_of_date >"
                     f" date '{row.fit_to:%Y-%m-%d}'")
    scores = built.sql("select * from ml_churn__scores")
    # the latest as_of of the score split, and (backfill) every as_of after the fit window
    assert len(scores) == len(rows)
    assert set(rows[rows.as_of_date == rows.as_of_date.max()].split) == {"score"}
    pipeline = registry.load_pipeline(row.artifact_uri, row.artifact_sha256, row.model_version)
    spec = features_of(specs.load(built.project / "ml" / "churn.yml"), row.to_dict())
    merged = rows.merge(scores, on=["customer_id", "as_of_date"], validate="one_to_one")
    expected = pipeline.predict_proba(feature_frame(merged, spec))[:, 1]
    np.testing.assert_allclose(merged.score.to_numpy(), expected, rtol=0, atol=1e-12)
    predictions = built.sql("select * from ml_churn__predictions")
    assert len(predictions) == len(scores)
    assert ((predictions.score >= row.threshold) == predictions.predicted_label.astype(bool)).all()


def test_every_column_of_a_public_table_is_described_in_the_warehouse(built):
    """The registry, evaluation, scores, predictions, monitoring and data quality tables: each
    column carries its YAML description as a DuckDB comment (persist_docs). The training sets
    hold the project's own feature columns, which the project documents."""
    columns = built.sql(
        "select table_name, column_name, comment from duckdb_columns()"
        " where schema_name = 'main' and (table_name like 'ml%' or table_name like 'dq%')"
        " and table_name not like '%training_set' and table_name not like '%dbt_tmp%'")
    assert len(set(columns.table_name)) >= 35
    bare = columns[columns.comment.fillna("").str.strip() == ""]
    assert bare.empty, bare.groupby("table_name").column_name.agg(list).to_dict()
    # the catalog dbt docs shows reads the same comments
    comments = columns.set_index(["table_name", "column_name"]).comment
    assert comments["ml_churn__predictions", "is_selected"].startswith(
        "Whether the decision acts on the row")
def test_every_churn_score_is_explained_and_keyed_like_the_scores(built):
    """The demo's churn spec asks for explain: {top_k: 3}; spend asks for none."""
    from mlmodels.learn import explain

    row = built.sql("select * from ml_model_registry where model_name = 'churn'"
                    " and status = 'champion'").iloc[0]
    scores = built.sql("select * from ml_churn__scores")
    assert len(scores) > 0 and scores.reasons.notna().all()
    assert scores.reason_features.map(len).eq(3).all()
    assert scores.reason_contributions.map(len).eq(3).all()
    assert not scores.duplicated(["model_version", *KEYS]).any()
    predictions = built.sql("select * from ml_churn__predictions")
    merged = scores.merge(predictions, on=["model_version", *KEYS], validate="one_to_one",
                          suffixes=("", "_p"))
    assert len(merged) == len(scores) == len(predictions)  # no row lost, none doubled
    assert (merged.reasons == merged.reasons_p).all()
    # the raw score is the log-odds of the score, and the artifact's full explanation adds up
    np.testing.assert_allclose(scores.raw_score, np.log(scores.score / (1 - scores.score)),
                               atol=1e-9)
    pipeline = registry.load_pipeline(row.artifact_uri, row.artifact_sha256, row.model_version)
    spec = features_of(specs.load(built.project / "ml" / "churn.yml"), row.to_dict())
    rows = built.sql("select * from ml_churn__training_set").merge(scores, on=KEYS)
    found = explain.Explainer(pipeline, spec).explain(feature_frame(rows, spec))
    np.testing.assert_allclose(found.base_value + found.contributions.sum(axis=1),
                               rows.raw_score, rtol=0, atol=1e-6)
    top = np.argsort(-np.abs(found.contributions), axis=1, kind="stable")[:, :3]
    assert [list(names) for names in np.asarray(spec.features)[top]] == \
        rows.reason_features.map(list).tolist()
    assert built.sql("select count(reasons) as n from ml_spend__scores").n[0] == 0


def test_evaluation_tables_describe_both_models(built):
    metrics = built.sql("select distinct model_name, model, split from ml_evaluation__metrics")
    assert len(metrics) == 2 * 4 * 3  # two models; model, prior, linear, rule; three splits
    curves = built.sql("select distinct curve, split from ml_evaluation__curves")
    assert len(curves) == 3 * 2  # roc, pr, calibration on valid and test
    candidates = built.sql("select * from ml_evaluation__candidates")
    assert candidates.groupby("model_name").selected.sum().to_dict() == {"churn": 1, "spend": 1}
    assert (candidates.latency_ms_per_1000 > 0).all() and (candidates.artifact_mb > 0).all()


def test_rebuild_on_unchanged_data_and_full_refresh_keep_the_registry(built):
    query = "select model_version, status, trained_at from ml_model_registry order by 1"
    before = built.sql(query)
    built.build("--select", "ml_churn__train+", "ml_spend__train+")
    assert built.sql(query).equals(before)
    built.build("--full-refresh", "--select", "ml_model_registry+")
    assert built.sql(query).equals(before)
    history = built.sql("select * from ml_model_status_history")
    assert len(history) == 2 and set(history.to_status) == {"champion"}


def test_sql_psi_equals_the_numpy_reference_definition(built):
    from mlmodels.learn import drift

    # spend deploys its evaluated model (deploy.refit: train): its reference is its train split.
    drift_rows = built.sql("select * from ml_spend__feature_drift where feature_type = 'numeric'")
    rows = built.sql("select * from ml_spend__training_set")
    train = rows[rows.split == "train"]
    checked = 0
    for feature in ("revenue_30d", "avg_order_value_30d", "days_since_last_order", "orders_90d"):
        for as_of in sorted(drift_rows.as_of_date.unique())[::4]:
            current = rows.loc[rows.as_of_date == as_of, feature].dropna().to_numpy(float)
            expected = drift.psi(train[feature].dropna().to_numpy(float), current)
            got = drift_rows[(drift_rows.feature == feature) & (drift_rows.as_of_date == as_of)]
            assert abs(got.psi.iloc[0] - expected) < 1e-9, (feature, as_of)
            checked += 1
    assert checked >= 8
    # Features that grow by construction are left out of drift (drift.exclude in the spec).
    assert not set(drift_rows.feature) & {"tenure_days", "orders_lifetime", "revenue_lifetime"}
    # The demo's price change on 2024-09-01 shows as drift in order values, not before it.
    value = drift_rows[drift_rows.feature == "avg_order_value_30d"].set_index("as_of_date").psi
    assert value[value.index < "2024-09-01"].max() < 0.1
    assert value[value.index >= "2024-11-01"].min() > 0.2


def test_the_retrain_signal_follows_the_price_change(built):
    signal = built.sql("select * from ml_spend__retrain_signal order by as_of_date")
    before = signal[signal.as_of_date < "2024-09-01"]
    after = signal[signal.as_of_date >= "2024-11-01"]
    assert len(before) >= 2 and not before.drift_reason.any()
    assert after.drift_reason.all()
    assert after.reasons.str.contains("avg_order_value_30d").all()


def test_realised_performance_on_the_test_window_matches_the_registered_test_metrics(built):
    realised = built.sql("select * from ml_spend__realised_performance where period = 'test'")
    registered = built.sql("select metric, value from ml_evaluation__metrics where model_name ="
                           " 'spend' and model = 'model' and split = 'test'")
    registered = dict(zip(registered.metric, registered.value, strict=True))
    # The same rows scored by the same model: pooled, the realised RMSE is the test RMSE.
    pooled = np.sqrt((realised.rmse ** 2 * realised.labelled_rows).sum()
                     / realised.labelled_rows.sum())
    assert pooled == pytest.approx(registered["rmse"], rel=1e-9)


PRICED = ("avg_order_value_", "revenue_")  # the features the 2024-09 price change moves


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The demo as `make demo` builds it (seed 42), which its suites were drafted from. (The
    session's world uses another seed: a population the suites never saw, whose means differ
    by more than the same customers' do from month to month.)"""
    warehouse = new_warehouse(tmp_path_factory.mktemp("shipped"), seed=42)
    warehouse.build()
    return warehouse


def test_every_warning_traces_to_the_price_change(shipped):
    """A fresh demo build warns only where the price change shows: order values and revenue,
    at as_ofs after it. Any other warning is an alarm without a cause (a stale or too narrow
    suite), which would teach users to ignore warnings."""
    built = shipped
    change = pd.Timestamp(demo.REGIME_CHANGE_DATE)
    for suite in ("feat_customer__as_of", "ml_churn__training_set", "ml_spend__training_set"):
        failed = built.sql(f"select * from dq_{suite} where not success and severity = 'warn'")
        assert len(failed), f"{suite}: the price change should show"
        for row in failed.itertuples():
            assert row.column_name.startswith(PRICED), (suite, row.expectation, row.column_name)
            if pd.notna(row.as_of):
                assert pd.Timestamp(row.as_of) > change, (suite, row.expectation, row.as_of)
            else:  # a check over all rows: its unexpected rows all lie after the change
                bounds = json.loads(row.kwargs)
                outside = " or ".join(
                    f"{row.column_name} {op} {bounds[key]}"
                    for key, op in (("max_value", ">"), ("min_value", "<"))
                    if bounds.get(key) is not None)
                early = built.sql(f"select count(*) as n from {suite} where as_of_date <= "
                                  f"'{change.date()}' and ({outside})").n[0]
                assert early == 0, (suite, row.expectation, row.column_name)
