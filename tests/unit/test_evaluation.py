import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from mlmodels.learn import evaluation
from mlmodels.spec import threshold_policy


def predictions(seed: int, n: int = 400, decimals: int | None = 2) -> tuple[np.ndarray, np.ndarray]:
    """Noisy but informative scores; rounding creates tied scores, which the policies must handle."""
    rng = np.random.default_rng(seed)
    scores = rng.beta(2, 3, size=n)
    labels = (rng.random(n) < scores).astype(int)
    if decimals is not None:
        scores = np.round(scores, decimals)
    return labels, scores


def pr_brute_force(labels: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    precision, recall, thresholds = metrics.precision_recall_curve(labels, scores)
    return pd.DataFrame({
        "threshold": thresholds, "precision": precision[:-1], "recall": recall[:-1],
    })


SEEDS = [0, 1, 2, 3]


# --------------------------------------------------------------------------- policies


@pytest.mark.parametrize("seed", SEEDS)
def test_max_f1_is_the_best_f1_of_the_pr_curve(seed):
    labels, scores = predictions(seed)
    curve = pr_brute_force(labels, scores)
    curve["f1"] = [metrics.f1_score(labels, scores >= t) for t in curve.threshold]
    chosen = evaluation.choose_threshold(labels, scores, "max_f1")
    assert chosen in curve.threshold.to_numpy()
    best = curve.f1.max()
    assert metrics.f1_score(labels, scores >= chosen) == pytest.approx(best, abs=1e-12)
    tied = curve.threshold[np.isclose(curve.f1, best, rtol=0, atol=1e-12)]
    assert chosen == tied.max()


def test_max_f1_breaks_ties_by_the_highest_threshold():
    # Both 0.4 and 0.8 give F1 = 2/3; 0.8 must win.
    labels = np.array([1, 0, 0, 1, 0])
    scores = np.array([0.8, 0.6, 0.4, 0.4, 0.1])
    f1_high = metrics.f1_score(labels, scores >= 0.8)
    f1_low = metrics.f1_score(labels, scores >= 0.4)
    assert f1_high == pytest.approx(f1_low)
    assert evaluation.choose_threshold(labels, scores, "max_f1") == 0.8


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("target", [0.5, 0.7, 0.85])
def test_min_precision_maximises_recall_under_the_constraint(seed, target):
    labels, scores = predictions(seed)
    curve = pr_brute_force(labels, scores)
    feasible = curve[curve.precision >= target]
    chosen = evaluation.choose_threshold(labels, scores, {"min_precision": target})
    assert chosen in feasible.threshold.to_numpy()
    assert metrics.precision_score(labels, scores >= chosen) >= target
    most_recall = feasible[feasible.recall == feasible.recall.max()]
    assert metrics.recall_score(labels, scores >= chosen) == most_recall.recall.max()
    # Among equal recall the highest threshold: it has the best precision.
    assert chosen == most_recall.threshold.max()
    assert metrics.precision_score(labels, scores >= chosen) == most_recall.precision.max()


def test_min_precision_skips_a_lowest_threshold_held_only_by_negatives():
    labels = np.array([1, 1, 0, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    # Precision >= 0.5 at 0.5 (3/5) and at 0.4 (3/6); 0.4 only adds a negative.
    assert evaluation.choose_threshold(labels, scores, {"min_precision": 0.5}) == 0.5


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("target", [0.3, 0.8, 0.95, 1.0])
def test_min_recall_maximises_precision_under_the_constraint(seed, target):
    labels, scores = predictions(seed)
    curve = pr_brute_force(labels, scores)
    feasible = curve[curve.recall >= target]
    chosen = evaluation.choose_threshold(labels, scores, {"min_recall": target})
    assert chosen in feasible.threshold.to_numpy()
    assert metrics.recall_score(labels, scores >= chosen) >= target
    most_precision = feasible[feasible.precision == feasible.precision.max()]
    assert metrics.precision_score(labels, scores >= chosen) == pytest.approx(
        most_precision.precision.max(), rel=1e-12
    )
    # Among equal precision the lowest threshold: it has the most recall.
    assert chosen == most_precision.threshold.min()


def test_min_recall_prefers_a_lower_threshold_that_dominates_the_highest_feasible():
    labels = np.array([1, 0, 1, 1, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    # Recall >= 0.6 holds from 0.7 down: 0.7 has precision 2/3 and recall 2/3, 0.6 has precision
    # 3/4 and recall 1, so the highest feasible threshold 0.7 loses on both.
    assert evaluation.choose_threshold(labels, scores, {"min_recall": 0.6}) == 0.6


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "cost", [{"fp": 1, "fn": 5}, {"fp": 3, "fn": 1, "tp_value": 2}, {"fp": 1, "fn": 1}]
)
def test_cost_policy_minimises_expected_cost_over_all_scores(seed, cost):
    labels, scores = predictions(seed)
    tp_value = cost.get("tp_value", 0)
    best_threshold, best_cost = None, np.inf
    for threshold in np.unique(scores):  # ascending, so "<=" keeps the highest of equal costs
        predicted = scores >= threshold
        tp = np.sum(predicted & (labels == 1))
        fp = np.sum(predicted & (labels == 0))
        fn = np.sum(~predicted & (labels == 1))
        expected = (cost["fp"] * fp + cost["fn"] * fn - tp_value * tp) / len(labels)
        if expected <= best_cost + 1e-12:
            best_threshold, best_cost = threshold, expected
    chosen = evaluation.choose_threshold(labels, scores, {"cost": cost})
    assert chosen == best_threshold
    assert chosen in pr_brute_force(labels, scores).threshold.to_numpy()


def test_unreachable_precision_raises_threshold_error_naming_the_best():
    labels = np.array([0, 1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])  # best precision: 1/2 at 0.8
    with pytest.raises(evaluation.ThresholdError, match=r"min_precision.*0\.5\b"):
        evaluation.choose_threshold(labels, scores, {"min_precision": 0.9})
    assert issubclass(evaluation.ThresholdError, ValueError)


def test_min_recall_of_one_is_the_lowest_positive_score():
    labels, scores = predictions(5)
    assert evaluation.choose_threshold(labels, scores, {"min_recall": 1.0}) == scores[
        labels == 1
    ].min()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("max_f1", "max_f1"),
        ({"min_precision": 0.9}, {"min_precision": 0.9}),
        ({"min_recall": 1}, {"min_recall": 1.0}),
        ({"cost": {"fp": 1, "fn": 10}}, {"cost": {"fp": 1.0, "fn": 10.0, "tp_value": 0.0}}),
        ({"cost": {"fp": 0, "fn": 2, "tp_value": 3}}, {"cost": {"fp": 0, "fn": 2, "tp_value": 3}}),
    ],
)
def test_parse_threshold_policy_accepts_the_yaml_forms(raw, expected):
    assert threshold_policy.parse_threshold_policy(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "max_precision",
        None,
        0.5,
        {"min_precision": 0},
        {"min_precision": 1.5},
        {"min_recall": "high"},
        {"min_recall": True},
        {"min_recall": float("nan")},
        {"min_precision": 0.9, "min_recall": 0.5},
        {"cost": {"fp": 1}},
        {"cost": {"fp": 1, "fn": -1}},
        {"cost": {"fp": 1, "fn": 1, "tp": 1}},
        {"cost": 3},
        {"max_f1": True},
    ],
)
def test_parse_threshold_policy_rejects_other_forms(raw):
    with pytest.raises(ValueError, match="threshold policy: expected max_f1"):
        threshold_policy.parse_threshold_policy(raw)


def test_choose_threshold_rejects_bad_inputs():
    with pytest.raises(ValueError, match="labels must be 0/1"):
        evaluation.choose_threshold(np.array([0, 2]), np.array([0.1, 0.2]), "max_f1")
    with pytest.raises(ValueError, match="expected 2"):
        evaluation.choose_threshold(np.array([0, 1, 1]), np.array([0.1, 0.2]), "max_f1")
    with pytest.raises(ValueError, match="finite"):
        evaluation.choose_threshold(np.array([0, 1]), np.array([0.1, np.nan]), "max_f1")


# --------------------------------------------------------------------------- metrics


def test_classification_metrics_equal_sklearn():
    labels, scores = predictions(6, decimals=None)
    scores[0] = 0.0  # log loss must clip instead of returning inf
    threshold = 0.4
    predicted = scores >= threshold
    result = evaluation.classification_metrics(labels, scores, threshold)
    expected = {
        "roc_auc": metrics.roc_auc_score(labels, scores),
        "pr_auc": metrics.average_precision_score(labels, scores),
        "log_loss": metrics.log_loss(labels, np.clip(scores, 1e-15, 1 - 1e-15)),
        "brier": metrics.brier_score_loss(labels, scores),
        "precision": metrics.precision_score(labels, predicted),
        "recall": metrics.recall_score(labels, predicted),
        "f1": metrics.f1_score(labels, predicted),
        "accuracy": metrics.accuracy_score(labels, predicted),
        "positive_rate": predicted.mean(),
        "actual_rate": labels.mean(),
    }
    assert result.keys() == expected.keys()
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, rel=1e-12), name
    assert np.isfinite(result["log_loss"])


@pytest.mark.parametrize("case", ["random", "none predicted", "all predicted", "no positives",
                                  "all positive", "one row", "float labels"])
def test_metrics_at_the_threshold_equal_sklearns_bit_for_bit(case):
    """Counted once here, each by its own function in scikit-learn: the same floats."""
    rng = np.random.default_rng(11)
    for size in (1, 7, 1000, 100_003):
        labels = (rng.random(size) < 0.3).astype(int)
        scores = rng.random(size)
        threshold = {"none predicted": 2.0, "all predicted": 0.0}.get(case, 0.37)
        if case == "no positives":
            labels[:] = 0
        elif case == "all positive":
            labels[:] = 1
        elif case == "one row":
            labels, scores = labels[:1], scores[:1]
        elif case == "float labels":
            labels = labels.astype(float)
        predicted = (scores >= threshold).astype(int)
        result = evaluation.classification_metrics(labels, scores, threshold)
        assert result["precision"] == metrics.precision_score(labels, predicted, zero_division=0)
        assert result["recall"] == metrics.recall_score(labels, predicted, zero_division=0)
        assert result["f1"] == metrics.f1_score(labels, predicted, zero_division=0)
        assert result["accuracy"] == metrics.accuracy_score(labels, predicted)
        assert result["positive_rate"] == predicted.mean()
        assert all(type(result[name]) is float for name in ("precision", "recall", "f1",
                                                            "accuracy", "positive_rate"))


@pytest.mark.parametrize("label", [0, 1])
def test_classification_metrics_with_one_class_give_nan_aucs(label):
    labels = np.full(20, label)
    scores = np.linspace(0.05, 0.95, 20)
    result = evaluation.classification_metrics(labels, scores, 2.0)
    assert np.isnan(result["roc_auc"]) and np.isnan(result["pr_auc"])
    assert np.isfinite(result["log_loss"]) and np.isfinite(result["brier"])
    assert result["positive_rate"] == 0 and result["precision"] == 0
    assert result["actual_rate"] == label


def test_regression_metrics_equal_sklearn():
    rng = np.random.default_rng(7)
    y_true = rng.normal(10, 3, 300)
    y_pred = y_true + rng.normal(0, 1, 300)
    result = evaluation.regression_metrics(y_true, y_pred)
    assert result["rmse"] == pytest.approx(np.sqrt(metrics.mean_squared_error(y_true, y_pred)))
    assert result["mae"] == pytest.approx(metrics.mean_absolute_error(y_true, y_pred))
    assert result["r2"] == pytest.approx(metrics.r2_score(y_true, y_pred))
    assert result["mean_prediction"] == pytest.approx(y_pred.mean())
    assert result["mean_actual"] == pytest.approx(y_true.mean())


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.55, 1.0])
def test_confusion_matches_sklearn(threshold):
    labels, scores = predictions(8)
    counts = evaluation.confusion(labels, scores, threshold)
    tn, fp, fn, tp = metrics.confusion_matrix(
        labels, (scores >= threshold).astype(int), labels=[0, 1]
    ).ravel()
    assert counts == {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    assert sum(counts.values()) == len(labels)
    assert all(isinstance(value, int) for value in counts.values())


# --------------------------------------------------------------------------- curves


@pytest.mark.parametrize("max_points", [2, 7, 50, 10_000])
def test_roc_points_thin_the_curve_and_keep_its_ends(max_points):
    labels, scores = predictions(9, n=3000, decimals=None)
    fpr, tpr, _ = metrics.roc_curve(labels, scores)
    points = evaluation.roc_points(labels, scores, max_points=max_points)
    assert list(points.columns) == ["fpr", "tpr", "threshold"]
    assert len(points) == min(max_points, len(fpr))
    assert (points.fpr.iloc[0], points.tpr.iloc[0]) == (fpr[0], tpr[0])
    assert (points.fpr.iloc[-1], points.tpr.iloc[-1]) == (1.0, 1.0)
    assert np.isfinite(points.threshold).all()
    assert points.threshold.iloc[0] > scores.max()
    assert points.fpr.is_monotonic_increasing and points.tpr.is_monotonic_increasing


@pytest.mark.parametrize("max_points", [2, 7, 50, 10_000])
def test_pr_points_thin_the_curve_and_keep_its_ends(max_points):
    labels, scores = predictions(10, n=3000, decimals=None)
    precision, recall, thresholds = metrics.precision_recall_curve(labels, scores)
    points = evaluation.pr_points(labels, scores, max_points=max_points)
    assert list(points.columns) == ["recall", "precision", "threshold"]
    assert len(points) == min(max_points, len(precision))
    first, last = points.iloc[0], points.iloc[-1]
    assert (first.recall, first.precision, first.threshold) == (
        recall[0], precision[0], thresholds[0]
    )
    assert (last.recall, last.precision) == (0.0, 1.0)
    assert np.isfinite(points.threshold).all() and last.threshold > scores.max()
    assert points.recall.is_monotonic_decreasing


def test_curves_with_one_class_are_empty():
    labels, scores = np.zeros(10, dtype=int), np.linspace(0, 1, 10)
    assert evaluation.roc_points(labels, scores).empty
    assert evaluation.pr_points(labels, scores).empty


def test_calibration_bins_count_every_row_once():
    labels, scores = predictions(11, n=1000, decimals=None)
    scores[:3] = [0.0, 1.0, 0.5]
    bins = evaluation.calibration_bins(labels, scores, n_bins=10)
    assert list(bins.columns) == [
        "bin", "lower", "upper", "rows", "mean_score", "positive_rate"
    ]
    assert bins.rows.sum() == len(labels)
    assert (bins.rows > 0).all()
    assert ((bins.mean_score >= bins.lower) & (bins.mean_score <= bins.upper)).all()
    assert bins.bin.iloc[-1] == 9 and bins.upper.iloc[-1] == 1.0
    last = (scores >= 0.9)
    assert bins.rows.iloc[-1] == last.sum()
    assert bins.positive_rate.iloc[-1] == pytest.approx(labels[last].mean())


def test_calibration_bins_omit_empty_bins():
    labels = np.array([0, 1, 1, 0])
    scores = np.array([0.05, 0.07, 0.95, 1.0])
    bins = evaluation.calibration_bins(labels, scores, n_bins=10)
    assert bins.bin.tolist() == [0, 9]
    assert bins.rows.tolist() == [2, 2]
    assert bins.positive_rate.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        evaluation.calibration_bins(labels, scores + 0.1)


# --------------------------------------------------------------------------- threshold table


def threshold_table_brute_force(labels, scores, cost, thresholds) -> pd.DataFrame:
    rows = []
    n = len(labels)
    for threshold in thresholds:
        predicted = (scores >= threshold).astype(int)
        tn, fp, fn, tp = metrics.confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
        rows.append({
            "threshold": threshold,
            "precision": metrics.precision_score(labels, predicted, zero_division=0),
            "recall": metrics.recall_score(labels, predicted, zero_division=0),
            "f1": metrics.f1_score(labels, predicted, zero_division=0),
            "predicted_positive_rate": predicted.mean(),
            "tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "expected_cost": (cost["fp"] * fp + cost["fn"] * fn) / n,
            "net_value": (cost.get("tp_value", 0) * tp - cost["fp"] * fp - cost["fn"] * fn) / n,
        })
    return pd.DataFrame(rows)


def test_threshold_table_matches_a_brute_force_loop():
    labels, scores = predictions(12, n=300)
    cost = {"fp": 2.0, "fn": 7.0, "tp_value": 1.5}
    table = evaluation.threshold_table(labels, scores, cost=cost)
    assert list(table.columns) == evaluation.THRESHOLD_TABLE_COLUMNS
    assert len(table) == 99
    assert table.threshold.iloc[0] == 0.01 and table.threshold.iloc[-1] == 0.99
    expected = threshold_table_brute_force(labels, scores, cost, table.threshold)
    pd.testing.assert_frame_equal(table, expected, check_dtype=False, rtol=1e-12)


def test_threshold_table_custom_thresholds_and_no_cost():
    labels, scores = predictions(13, n=200)
    thresholds = [0.0, 0.25, 0.5, 0.5, 1.0, 1.5]  # 1.5 predicts nothing: precision 0, not NaN
    table = evaluation.threshold_table(labels, scores, thresholds=thresholds)
    assert table.threshold.tolist() == thresholds
    assert table.expected_cost.isna().all() and table.net_value.isna().all()
    expected = threshold_table_brute_force(labels, scores, {"fp": 0, "fn": 0}, thresholds)
    columns = evaluation.THRESHOLD_TABLE_COLUMNS[:9]
    pd.testing.assert_frame_equal(table[columns], expected[columns], check_dtype=False)
    assert (table[["tp", "fp", "tn", "fn"]].sum(axis=1) == len(labels)).all()


def test_cost_policy_picks_the_best_net_value_of_the_table():
    labels, scores = predictions(14)
    cost = {"fp": 1.0, "fn": 4.0, "tp_value": 0.5}
    chosen = evaluation.choose_threshold(labels, scores, {"cost": cost})
    table = evaluation.threshold_table(labels, scores, cost=cost, thresholds=np.unique(scores))
    assert chosen == table.threshold[table.net_value.idxmax()]


# --------------------------------------------------------------------------- leakage audit


def test_single_feature_auc_of_a_leaking_column_is_near_one():
    rng = np.random.default_rng(15)
    labels = rng.integers(0, 2, 2000)
    assert evaluation.single_feature_auc(labels + rng.normal(0, 0.01, 2000), labels) == 1.0
    # Inverted leak is just as informative.
    assert evaluation.single_feature_auc(-labels.astype(float), labels) == 1.0


def test_single_feature_auc_of_noise_is_near_one_half():
    rng = np.random.default_rng(16)
    labels = rng.integers(0, 2, 5000)
    auc = evaluation.single_feature_auc(rng.normal(size=5000), labels)
    assert 0.5 <= auc < 0.55


def test_single_feature_auc_sees_missingness_that_marks_positives():
    rng = np.random.default_rng(17)
    labels = rng.integers(0, 2, 2000)
    values = rng.normal(size=2000)
    values[labels == 1] = np.nan
    assert evaluation.single_feature_auc(values, labels) == 1.0
    # Object columns holding numbers and None are numeric too.
    as_object = pd.Series([None if np.isnan(v) else v for v in values], dtype=object)
    assert evaluation.single_feature_auc(as_object, labels) == 1.0


def test_single_feature_auc_detects_a_categorical_leak():
    rng = np.random.default_rng(18)
    labels = rng.integers(0, 2, 3000)
    leak = np.where(labels == 1, rng.choice(["a", "b"], 3000), rng.choice(["c", "d"], 3000))
    assert evaluation.single_feature_auc(leak, labels) == 1.0
    noise = pd.Series(rng.choice(["a", "b", "c", None], 3000))
    assert evaluation.single_feature_auc(noise, labels) < 0.55
    missing_on_positives = pd.Series(np.where(labels == 1, None, "x"), dtype="category")
    assert evaluation.single_feature_auc(missing_on_positives, labels) == 1.0


def test_single_feature_auc_is_nan_for_one_class():
    assert np.isnan(evaluation.single_feature_auc(np.arange(5.0), np.ones(5, dtype=int)))


def test_single_feature_r():
    rng = np.random.default_rng(19)
    y = rng.normal(size=1000)
    x = -2 * y + rng.normal(0, 0.01, 1000)
    x[:10] = np.nan
    assert evaluation.single_feature_r(x, y) == pytest.approx(1.0, abs=1e-3)
    assert evaluation.single_feature_r(rng.normal(size=1000), y) < 0.1
    assert np.isnan(evaluation.single_feature_r(np.ones(1000), y))
    with pytest.raises(ValueError, match="numeric"):
        evaluation.single_feature_r(np.array(["a"] * 1000), y)


@pytest.mark.parametrize("policy", ["max_f1", {"min_precision": 0.6}, {"min_recall": 0.7},
                                    {"cost": {"fp": 5, "fn": 40, "tp_value": 30}}])
def test_the_threshold_table_flags_the_policys_threshold_and_says_why(policy):
    labels, scores = predictions(7, decimals=3)
    chosen = evaluation.choose_threshold(labels, scores, policy)
    table = evaluation.chosen_threshold_table(labels, scores, policy, chosen)
    assert table.is_chosen.sum() == 1 and table.threshold.is_monotonic_increasing
    row = table[table.is_chosen].iloc[0]
    assert row.threshold == chosen and table.reason.notna().sum() == 1
    # the flagged row's counts are the chosen threshold's own
    assert row.tp + row.fp == int((scores >= chosen).sum())
    name = policy if isinstance(policy, str) else next(iter(policy))
    assert row.reason.startswith(f"threshold policy {name}") and "on valid (400 rows)" in row.reason
    if name == "cost":
        assert f"{table.net_value.max():.3f}" in row.reason  # the best net value is the chosen's
    if name == "max_f1":
        assert row.f1 == table.f1.max()
