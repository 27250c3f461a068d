import numpy as np
import pandas as pd
import pytest

from mlmodels import drift


def test_decile_edges_are_numpy_percentiles_with_open_ends():
    values = np.arange(101, dtype=float)
    edges = drift.decile_edges(values)
    assert edges[0] == -np.inf and edges[-1] == np.inf
    np.testing.assert_array_equal(edges[1:-1], np.arange(10, 100, 10))


def test_psi_is_zero_for_same_distribution_and_grows_with_shift():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=20_000)
    assert drift.psi(reference, reference) == pytest.approx(0, abs=1e-12)
    small = drift.psi(reference, rng.normal(0.1, 1, 20_000))
    large = drift.psi(reference, rng.normal(1.0, 1, 20_000))
    assert 0 < small < 0.1
    assert large > 0.2


def test_reference_bins_match_numpy_histogram():
    rng = np.random.default_rng(2)
    train = pd.DataFrame({
        "x": np.append(rng.exponential(size=999), np.nan),
        "c": rng.choice(["a", "b", None], size=1000),
    })
    bins = drift.reference_bins(train, ["x"], ["c"])
    numeric = bins[bins.feature == "x"]
    values = train["x"].dropna().to_numpy()
    edges = drift.decile_edges(values)
    assert numeric.reference_count.tolist() == np.histogram(values, edges)[0].tolist()
    assert (numeric.reference_total == 999).all()
    categorical = bins[bins.feature == "c"].set_index("category")
    assert categorical.reference_count.to_dict() == train["c"].value_counts().to_dict()


def test_tie_heavy_edges_leave_empty_buckets():
    values = np.array([0.0] * 90 + [1.0] * 10)
    bins = drift.reference_bins(pd.DataFrame({"x": values}), ["x"], [])
    assert bins.reference_count.sum() == 100
    assert (bins.reference_count == 0).sum() >= 8


def test_boolean_categories_are_spelled_as_the_warehouse_casts_them():
    bins = drift.reference_bins(pd.DataFrame({"flag": [True, False, True]}), [], ["flag"])
    assert sorted(bins.category) == ["false", "true"]


def test_prediction_bins_are_deciles_of_the_test_scores():
    scores = np.random.default_rng(0).beta(2, 5, 1000)
    bins = drift.prediction_bins(np.append(scores, np.nan))
    assert set(bins.feature) == {"score"} and set(bins.feature_type) == {"prediction"}
    assert bins.reference_count.sum() == 1000 == bins.reference_total.iloc[0]
    np.testing.assert_array_equal(bins.upper_edge[:-1], drift.decile_edges(scores)[1:-1])
