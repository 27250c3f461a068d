"""The aggregates of where a model gains: deciles, lift, gain, residuals and segments, by hand."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    mean_absolute_error,
    precision_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

from mlmodels.learn import comparison


def test_deciles_split_rows_by_position_highest_scores_first():
    scores = np.array([0.1, 0.9, 0.5, 0.5, 0.3])
    assert comparison.deciles(scores, n_bins=5).tolist() == [5, 1, 2, 3, 4]
    assert comparison.deciles(scores, n_bins=5, descending=False).tolist() == [1, 5, 3, 4, 2]
    sizes = np.bincount(comparison.deciles(np.zeros(23)))[1:]
    assert sizes.sum() == 23 and max(sizes) - min(sizes) <= 1


def test_lift_and_gain_equal_a_hand_computation():
    # 10 rows, 2 bins of 5: the top half holds 3 of the 4 positives
    scores = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    labels = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])
    top, bottom = comparison.lift_table(labels, scores, n_bins=2)
    assert (top["decile"], top["rows"], top["positives"]) == (1, 5, 3)
    assert top["positive_rate"] == pytest.approx(0.6)
    assert top["lift"] == pytest.approx(0.6 / 0.4)
    assert top["cumulative_gain"] == pytest.approx(0.75)
    assert top["cumulative_lift"] == pytest.approx(1.5)
    assert (top["min_score"], top["max_score"]) == (0.6, 0.95)
    assert (bottom["positives"], bottom["cumulative_positives"]) == (1, 4)
    assert bottom["lift"] == pytest.approx(0.2 / 0.4)
    assert bottom["cumulative_gain"] == pytest.approx(1.0)
    assert bottom["cumulative_lift"] == pytest.approx(1.0)
    assert set(top) == set(comparison.LIFT_COLUMNS)


def test_lift_on_random_rows_sums_up():
    rng = np.random.default_rng(1)
    scores = rng.random(1003)
    labels = (rng.random(1003) < scores).astype(int)
    table = pd.DataFrame(comparison.lift_table(labels, scores))
    assert table["rows"].sum() == 1003 and table["positives"].sum() == labels.sum()
    assert table["cumulative_gain"].iloc[-1] == pytest.approx(1.0)
    assert table["cumulative_gain"].is_monotonic_increasing
    assert table["lift"].iloc[0] > 1 > table["lift"].iloc[-1]
    # decile 1 holds the highest scores
    assert table["min_score"].iloc[0] >= table["max_score"].iloc[1]


def test_residuals_by_decile_of_prediction_equal_a_hand_computation():
    predicted = np.array([1.0, 2.0, 3.0, 4.0])
    actual = np.array([2.0, 2.0, 1.0, 6.0])
    low, high = comparison.residual_table(actual, predicted, n_bins=2)
    assert (low["rows"], low["mean_prediction"], low["mean_actual"]) == (2, 1.5, 2.0)
    assert low["mean_residual"] == pytest.approx(0.5)
    assert low["rmse"] == pytest.approx(np.sqrt(0.5)) and low["mae"] == pytest.approx(0.5)
    assert (high["min_prediction"], high["max_prediction"]) == (3.0, 4.0)
    assert high["mean_residual"] == pytest.approx(0.0)
    assert high["rmse"] == pytest.approx(2.0) and high["mae"] == pytest.approx(2.0)


def test_segment_labels_keep_the_largest_categories_and_pool_the_rest():
    values = pd.Series(["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["d"] + [None] * 2)
    got = comparison.segment_labels(values, max_categories=3)
    # b and c tie on rows: both stay before the missing ones; d is pooled
    assert got.tolist() == ["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["(other)"] * 3
    assert comparison.segment_labels(values, max_categories=10).tolist()[-2:] == ["(missing)"] * 2


def test_classification_segments_equal_sklearn_on_the_filtered_rows():
    rng = np.random.default_rng(0)
    n = 600
    colour = pd.Series(rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2]))
    scores = rng.random(n)
    labels = (rng.random(n) < scores * (1 + (colour == "red"))).astype(int).to_numpy()
    features = pd.DataFrame({"colour": colour})
    table = pd.DataFrame(comparison.segment_table(features, labels, scores, is_classifier=True,
                                                  threshold=0.4))
    assert table["category"].tolist() == ["red", "green", "blue"]
    for row in table.itertuples():
        mask = (colour == row.category).to_numpy()
        y, s = labels[mask], scores[mask]
        assert row.rows == mask.sum() and row.positives == y.sum()
        assert row.actual_rate == pytest.approx(y.mean())
        assert row.roc_auc == pytest.approx(roc_auc_score(y, s))
        assert row.precision == pytest.approx(precision_score(y, s >= 0.4))
        assert row.recall == pytest.approx(recall_score(y, s >= 0.4))
        assert np.isnan(row.rmse) and row.threshold == 0.4
    assert list(table.columns) == comparison.SEGMENT_COLUMNS


def test_regression_segments_equal_sklearn_and_one_class_segments_have_no_auc():
    rng = np.random.default_rng(2)
    region = pd.Series(rng.choice(list("abcdefghijkl"), size=400))
    actual = rng.normal(100, 20, size=400)
    predicted = actual + rng.normal(0, 5, size=400)
    table = pd.DataFrame(comparison.segment_table(pd.DataFrame({"region": region}), actual,
                                                  predicted, is_classifier=False))
    assert len(table) == 11 and table["category"].iloc[-1] == "(other)"
    assert table["rows"].sum() == 400
    for row in table.itertuples():
        kept = set(table["category"]) - {"(other)"}
        mask = (~region.isin(kept) if row.category == "(other)"
                else region == row.category).to_numpy()
        assert row.rmse == pytest.approx(root_mean_squared_error(actual[mask], predicted[mask]))
        assert row.mae == pytest.approx(mean_absolute_error(actual[mask], predicted[mask]))
        assert row.mean_actual == pytest.approx(actual[mask].mean())
    one_class = comparison.segment_table(pd.DataFrame({"g": ["x", "x"]}), np.array([1, 1]),
                                         np.array([0.2, 0.9]), is_classifier=True, threshold=0.5)
    assert np.isnan(one_class[0]["roc_auc"]) and one_class[0]["recall"] == 0.5


def test_numbers_print_by_their_kind():
    from mlmodels.reports.html import fmt, kind_of

    assert [fmt(0.08551, "rate"), fmt(5.19234, "score"), fmt(12345, "count"),
            fmt(1234.5, "value"), fmt(2.3149, "ratio")] == [
        "8.6%", "5.192", "12,345", "1,234.50", "2.31x"]
    assert fmt(0.004903, "score", signed=True) == "+0.005"
    assert fmt(-0.0123, "rate", signed=True) == "-1.2%"
    assert fmt(None, "count") == fmt(float("nan")) == ""
    with pytest.raises(ValueError, match="kind"):
        fmt(1.0, "money")
    kinds = {name: kind_of(name) for name in (
        "rows", "labelled_rows", "tp", "actual_rate", "cumulative_gain", "lift", "roc_auc",
        "threshold", "psi", "rmse", "mae", "current_total", "predicted_positive_share")}
    assert kinds == {"rows": "count", "labelled_rows": "count", "tp": "count",
                     "actual_rate": "rate", "cumulative_gain": "rate", "lift": "ratio",
                     "roc_auc": "score", "threshold": "score", "psi": "score", "rmse": "value",
                     "mae": "value", "current_total": "count",
                     "predicted_positive_share": "rate"}
    assert kind_of("mean_prediction") == "score"
    assert kind_of("mean_prediction", is_classifier=False) == "value"
