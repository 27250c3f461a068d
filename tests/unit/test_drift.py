import numpy as np
import pandas as pd
import pytest

from mlmodels.learn import drift


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


def test_tied_deciles_collapse_so_no_reference_bucket_is_empty():
    values = np.array([0.0] * 90 + [1.0] * 10)
    bins = drift.reference_bins(pd.DataFrame({"x": values}), ["x"], [])
    assert bins.reference_count.tolist() == [90, 10]
    # One interior edge, the 90th percentile (interpolated between the 0s and the 1s).
    assert bins.lower_edge.iloc[0] == -np.inf and 0 < bins.upper_edge.iloc[0] <= 1
    # An integer feature of a real purchase log: many ties, a minimum shared by a third of rows.
    counts = np.random.default_rng(4).poisson(1.2, 5000).astype(float)
    bins = drift.reference_bins(pd.DataFrame({"n": counts}), ["n"], [])
    assert (bins.reference_count > 0).all() and bins.reference_count.sum() == 5000
    # Before the collapse, PSI of a sample of the same distribution reached tens on such data.
    same = np.random.default_rng(5).poisson(1.2, 5000).astype(float)
    assert drift.psi(counts, same) < 0.01
    assert drift.psi(counts, counts + 1) > 0.2


def test_a_constant_feature_has_one_bucket():
    edges = drift.decile_edges(np.full(50, 3.0))
    assert edges.tolist() == [-np.inf, np.inf]


def test_psi_against_stored_bins_equals_the_reference_definition_on_ties():
    rng = np.random.default_rng(6)
    train, current = rng.poisson(0.7, 3000).astype(float), rng.poisson(1.1, 2000).astype(float)
    bins = drift.reference_bins(pd.DataFrame({"n": train}), ["n"], [])
    assert drift.psi_against_bins(bins, pd.Series(current)) == pytest.approx(
        drift.psi(train, current), rel=1e-12)


def test_boolean_categories_are_spelled_as_the_warehouse_casts_them():
    bins = drift.reference_bins(pd.DataFrame({"flag": [True, False, True]}), [], ["flag"])
    assert sorted(bins.category) == ["false", "true"]


def test_prediction_bins_are_deciles_of_the_test_scores():
    scores = np.random.default_rng(0).beta(2, 5, 1000)
    bins = drift.prediction_bins(np.append(scores, np.nan))
    assert set(bins.feature) == {"score"} and set(bins.feature_type) == {"prediction"}
    assert bins.reference_count.sum() == 1000 == bins.reference_total.iloc[0]
    np.testing.assert_array_equal(bins.upper_edge[:-1], drift.decile_edges(scores)[1:-1])
