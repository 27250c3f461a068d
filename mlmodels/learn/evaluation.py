"""Evaluation tables of a trained model: metrics, curves, calibration and decision thresholds.

Every function is pure: numpy arrays (or pandas objects) in, floats, dicts or DataFrames out, so
the results can be written to the warehouse by the caller. For binary models ``labels`` is a 0/1
array and ``scores`` the predicted probability of the positive class; a row is predicted positive
when ``score >= threshold``.

Longer than 500 lines because it holds every evaluation table the registry stores (metrics,
curves, calibration, thresholds, single-feature scores), each a small pure function over the
metric definitions at its top.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    mean_absolute_error,
    precision_recall_curve,
    r2_score,
    roc_auc_score,
    roc_curve,
    root_mean_squared_error,
)

from mlmodels.spec.threshold_policy import parse_cost, parse_threshold_policy

LOG_LOSS_EPS = 1e-15
ROC_COLUMNS = ["fpr", "tpr", "threshold"]
PR_COLUMNS = ["recall", "precision", "threshold"]
CALIBRATION_COLUMNS = ["bin", "lower", "upper", "rows", "mean_score", "positive_rate"]
THRESHOLD_TABLE_COLUMNS = [
    "threshold", "precision", "recall", "f1", "predicted_positive_rate",
    "tp", "fp", "tn", "fn", "expected_cost", "net_value",
]
DEFAULT_THRESHOLDS = np.round(np.arange(1, 100) / 100, 2)


class ThresholdError(ValueError):
    """No threshold satisfies the constraint of a threshold policy."""


# --------------------------------------------------------------------------- threshold policies
# (a policy is validated by mlmodels.spec.threshold_policy; it is applied here)


def choose_threshold(labels: np.ndarray, scores: np.ndarray, policy: object) -> float:
    """Return the decision threshold chosen by ``policy`` on these predictions.

    Candidate thresholds are the distinct score values (the thresholds of
    ``sklearn.metrics.precision_recall_curve``).

    Parameters
    ----------
    labels
        0/1 labels.
    scores
        Positive-class probabilities, same length as ``labels``.
    policy
        A threshold policy in the form accepted by :func:`parse_threshold_policy`:

        - ``"max_f1"``: the highest F1 (ties: the highest threshold);
        - ``{"min_precision": p}``: the most recall among thresholds with precision >= p;
          among equal recall the highest threshold (it only drops negatives, so it has the best
          precision). This is the lowest such threshold unless that one is dominated;
        - ``{"min_recall": r}``: the most precision among thresholds with recall >= r; among
          equal precision the lowest threshold (most recall). Precision is not monotone in the
          threshold, so this can lie below the highest threshold with recall >= r, which it
          then beats on both precision and recall;
        - ``{"cost": {...}}``: the lowest expected cost per row
          ``(fp * FP + fn * FN - tp_value * TP) / n`` (ties: the highest threshold).

    Returns
    -------
    float
        The chosen threshold, one of the score values.

    Raises
    ------
    ThresholdError
        If no candidate reaches the precision or recall the policy asks for (recall is always
        reachable unless ``labels`` holds no positive).
    ValueError
        If the policy or the inputs are invalid.
    """
    parsed = parse_threshold_policy(policy)
    labels, scores = _check_binary(labels, scores)
    candidates = np.unique(scores)
    tp, fp, _, fn = _counts_at(labels, scores, candidates)
    n_pos = tp[0] + fn[0]
    if parsed == "max_f1":
        # 2TP / (2TP + FP + FN) is F1 without dividing twice, so equal F1s tie exactly.
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        return _highest_argbest(candidates, f1)
    key, value = next(iter(parsed.items()))
    if key == "cost":
        # Dividing by n would not change the order but could round distinct costs into ties.
        net = value["tp_value"] * tp - value["fp"] * fp - value["fn"] * fn
        return _highest_argbest(candidates, net)
    precision = tp / (tp + fp)  # every candidate predicts at least the rows scoring it
    recall = _ratio(tp, np.full_like(tp, n_pos))
    if key == "min_precision":
        feasible = precision >= value
        if not feasible.any():
            best = int(np.argmax(precision))
            raise ThresholdError(
                f"threshold policy {parsed!r}: no threshold reaches precision {value}; the best "
                f"precision reachable is {precision[best]:.6g} (at threshold {candidates[best]:.6g})"
            )
        # Equal TP means equal recall; compare counts, not floats, to find the ties.
        most_recall = feasible & (tp == tp[feasible].max())
        return float(candidates[np.flatnonzero(most_recall)[-1]])
    feasible = recall >= value
    if not feasible.any():
        raise ThresholdError(f"threshold policy {parsed!r}: labels hold no positive row")
    most_precision = feasible & (precision == precision[feasible].max())
    return float(candidates[np.flatnonzero(most_precision)[0]])


# --------------------------------------------------------------------------- metrics


def classification_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float, only: str | None = None
) -> dict[str, float]:
    """Return the ranking, probability and thresholded metrics of a binary model.

    Parameters
    ----------
    labels
        0/1 labels.
    scores
        Positive-class probabilities.
    threshold
        Rows with ``score >= threshold`` are predicted positive.
    only
        A metric's name: compute and return that one alone (a search scores thousands of
        folds on one metric; the others would double its cost).

    Returns
    -------
    dict
        ``roc_auc``, ``pr_auc`` (average precision), ``log_loss`` (scores clipped to
        [1e-15, 1 - 1e-15]), ``brier``, and at the threshold ``precision``, ``recall``, ``f1``,
        ``accuracy`` (0 where undefined), ``positive_rate`` (share predicted positive) and
        ``actual_rate`` (share of positive labels). ``roc_auc`` and ``pr_auc`` are NaN when the
        labels hold a single class.

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or not 0/1 labels and finite scores.
    """
    labels, scores = _check_binary(labels, scores)
    both_classes = 0 < labels.sum() < len(labels)

    # The metrics at the threshold from one count of the confusion matrix, made when one of
    # them is asked for (a search asks for one ranking metric only): scikit-learn's precision,
    # recall, f1 and accuracy validate their inputs and count it once each (23 ms apiece at
    # 200,000 rows). The same divisions, so the same floats, and 0 where undefined
    # (zero_division=0); tests/unit/test_evaluation.py compares them with scikit-learn's.
    @functools.cache
    def count() -> dict[str, int]:
        return _confusion_counts(labels, scores, threshold)

    rows = len(labels)
    metrics = {
        "roc_auc": lambda: float(roc_auc_score(labels, scores)) if both_classes else np.nan,
        "pr_auc": lambda: (float(average_precision_score(labels, scores)) if both_classes
                           else np.nan),
        "log_loss": lambda: float(log_loss(
            labels, np.clip(scores, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS), labels=[0, 1])),
        "brier": lambda: float(brier_score_loss(labels, scores, labels=[0, 1])),
        "precision": lambda: _divide(count()["tp"], count()["tp"] + count()["fp"]),
        "recall": lambda: _divide(count()["tp"], count()["tp"] + count()["fn"]),
        "f1": lambda: _divide(2 * count()["tp"], 2 * count()["tp"] + count()["fp"] + count()["fn"]),
        "accuracy": lambda: (count()["tp"] + count()["tn"]) / rows,
        "positive_rate": lambda: (count()["tp"] + count()["fp"]) / rows,
        "actual_rate": lambda: float(labels.mean()),
    }
    return {name: compute() for name, compute in metrics.items() if only in (None, name)}


def _divide(numerator: int, denominator: int) -> float:
    """Return numerator / denominator as a float, 0.0 when the denominator is 0."""
    return float(numerator) / float(denominator) if denominator else 0.0


def regression_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, only: str | None = None
) -> dict[str, float]:
    """Return the error metrics of a regression model.

    Parameters
    ----------
    y_true
        Actual values.
    y_pred
        Predicted values, same length.
    only
        A metric's name: compute and return that one alone.

    Returns
    -------
    dict
        ``rmse``, ``mae``, ``r2``, ``mean_prediction`` and ``mean_actual``.

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or not finite.
    """
    y_true = _check_vector(y_true, "y_true")
    y_pred = _check_vector(y_pred, "y_pred", length=len(y_true))
    metrics = {
        "rmse": lambda: float(root_mean_squared_error(y_true, y_pred)),
        "mae": lambda: float(mean_absolute_error(y_true, y_pred)),
        "r2": lambda: float(r2_score(y_true, y_pred)) if len(y_true) > 1 else np.nan,
        "mean_prediction": lambda: float(y_pred.mean()),
        "mean_actual": lambda: float(y_true.mean()),
    }
    return {name: compute() for name, compute in metrics.items() if only in (None, name)}


def confusion(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, int]:
    """Return the confusion counts at ``threshold``.

    Parameters
    ----------
    labels
        0/1 labels.
    scores
        Positive-class probabilities.
    threshold
        Rows with ``score >= threshold`` are predicted positive.

    Returns
    -------
    dict
        ``tp``, ``fp``, ``tn`` and ``fn``; they sum to the number of rows.

    Raises
    ------
    ValueError
        If the inputs are invalid.
    """
    labels, scores = _check_binary(labels, scores)
    return _confusion_counts(labels, scores, threshold)


def _confusion_counts(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, int]:
    """:func:`confusion` of inputs already validated."""
    predicted = scores >= threshold
    positive = labels == 1
    return {
        "tp": int(np.sum(predicted & positive)),
        "fp": int(np.sum(predicted & ~positive)),
        "tn": int(np.sum(~predicted & ~positive)),
        "fn": int(np.sum(~predicted & positive)),
    }


# --------------------------------------------------------------------------- curves


def roc_points(labels: np.ndarray, scores: np.ndarray, max_points: int = 200) -> pd.DataFrame:
    """Return the ROC curve, thinned to at most ``max_points`` rows.

    Parameters
    ----------
    labels
        0/1 labels.
    scores
        Positive-class probabilities.
    max_points
        Maximum number of rows (at least 2); evenly spaced points of sklearn's curve are kept,
        always including the first and the last.

    Returns
    -------
    pandas.DataFrame
        Columns ``fpr``, ``tpr``, ``threshold`` in sklearn's order (decreasing threshold). The
        first point's infinite threshold is replaced by the smallest float above both 1 and the
        highest score, so it still predicts no row positive. Empty when the labels hold a
        single class (the curve is undefined).

    Raises
    ------
    ValueError
        If the inputs are invalid or ``max_points < 2``.
    """
    labels, scores = _check_binary(labels, scores)
    _check_max_points(max_points)
    if not 0 < labels.sum() < len(labels):
        return pd.DataFrame({column: pd.Series(dtype=float) for column in ROC_COLUMNS})
    fpr, tpr, thresholds = roc_curve(labels, scores)
    thresholds = np.where(np.isinf(thresholds), _above_all(scores), thresholds)
    keep = _thin(len(fpr), max_points)
    return pd.DataFrame({"fpr": fpr[keep], "tpr": tpr[keep], "threshold": thresholds[keep]})


def pr_points(labels: np.ndarray, scores: np.ndarray, max_points: int = 200) -> pd.DataFrame:
    """Return the precision-recall curve, thinned to at most ``max_points`` rows.

    Parameters
    ----------
    labels
        0/1 labels.
    scores
        Positive-class probabilities.
    max_points
        Maximum number of rows (at least 2); evenly spaced points of sklearn's curve are kept,
        always including the first and the last.

    Returns
    -------
    pandas.DataFrame
        Columns ``recall``, ``precision``, ``threshold`` in sklearn's order (increasing
        threshold). sklearn's final point (recall 0, precision 1) has no threshold; it gets the
        smallest float above both 1 and the highest score, the threshold that predicts no row
        positive. Empty when the labels hold a single class.

    Raises
    ------
    ValueError
        If the inputs are invalid or ``max_points < 2``.
    """
    labels, scores = _check_binary(labels, scores)
    _check_max_points(max_points)
    if not 0 < labels.sum() < len(labels):
        return pd.DataFrame({column: pd.Series(dtype=float) for column in PR_COLUMNS})
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    thresholds = np.append(thresholds, _above_all(scores))
    keep = _thin(len(precision), max_points)
    return pd.DataFrame(
        {"recall": recall[keep], "precision": precision[keep], "threshold": thresholds[keep]}
    )


def calibration_bins(labels: np.ndarray, scores: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Return the reliability table: observed positive rate per uniform score bin.

    Parameters
    ----------
    labels
        0/1 labels.
    scores
        Positive-class probabilities in [0, 1].
    n_bins
        Number of equal-width bins ``[lower, upper)`` on [0, 1]; a score of 1.0 goes in the last.

    Returns
    -------
    pandas.DataFrame
        Columns ``bin`` (0-based index), ``lower``, ``upper``, ``rows``, ``mean_score`` and
        ``positive_rate``, one row per non-empty bin in increasing order; ``rows`` sums to n.

    Raises
    ------
    ValueError
        If the inputs are invalid, a score lies outside [0, 1] or ``n_bins < 1``.
    """
    labels, scores = _check_binary(labels, scores)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    if scores.min() < 0 or scores.max() > 1:
        raise ValueError("calibration_bins: scores must lie in [0, 1]")
    edges = np.linspace(0, 1, n_bins + 1)
    # searchsorted on the stored edges (not floor(score * n_bins)) so a row's bin always agrees
    # with the lower/upper reported for it.
    index = np.minimum(np.searchsorted(edges, scores, side="right") - 1, n_bins - 1)
    rows = np.bincount(index, minlength=n_bins)
    score_sum = np.bincount(index, weights=scores, minlength=n_bins)
    positive_sum = np.bincount(index, weights=labels, minlength=n_bins)
    present = np.flatnonzero(rows)
    return pd.DataFrame({
        "bin": present,
        "lower": edges[present],
        "upper": edges[present + 1],
        "rows": rows[present],
        "mean_score": score_sum[present] / rows[present],
        "positive_rate": positive_sum[present] / rows[present],
    })


def threshold_table(
    labels: np.ndarray,
    scores: np.ndarray,
    cost: Mapping[str, float] | None = None,
    thresholds: np.ndarray | None = None,
) -> pd.DataFrame:
    """Return the confusion counts, rates and costs at each of a list of thresholds.

    Sorts the scores once and finds every threshold's position by binary search, so it runs in
    O((n + k) log n) for n rows and k thresholds.

    Parameters
    ----------
    labels
        0/1 labels.
    scores
        Positive-class probabilities.
    cost
        The cost dict of a cost policy, ``{"fp": a, "fn": b, "tp_value": c}`` (``tp_value``
        optional), or None.
    thresholds
        Thresholds to tabulate; default 0.01, 0.02, ..., 0.99.

    Returns
    -------
    pandas.DataFrame
        Columns ``THRESHOLD_TABLE_COLUMNS``, one row per threshold in the given order.
        ``precision``, ``recall`` and ``f1`` are 0 where undefined.
        ``expected_cost = (fp * FP + fn * FN) / n`` and
        ``net_value = (tp_value * TP - fp * FP - fn * FN) / n``; both NaN when ``cost`` is None.
        The cost policy of :func:`choose_threshold` maximises ``net_value``.

    Raises
    ------
    ValueError
        If the inputs or the cost dict are invalid.
    """
    labels, scores = _check_binary(labels, scores)
    grid = DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, dtype=float)
    if grid.ndim != 1:
        raise ValueError("thresholds must be one-dimensional")
    tp, fp, tn, fn = _counts_at(labels, scores, grid)
    n = len(labels)
    if cost is None:
        expected_cost = net_value = np.full(len(grid), np.nan)
    else:
        parsed = parse_cost(cost)
        expected_cost = (parsed["fp"] * fp + parsed["fn"] * fn) / n
        net_value = parsed["tp_value"] * tp / n - expected_cost
    return pd.DataFrame({
        "threshold": grid,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "predicted_positive_rate": (tp + fp) / n,
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "expected_cost": expected_cost,
        "net_value": net_value,
    })


def chosen_threshold_table(
    labels: np.ndarray, scores: np.ndarray, policy: object, chosen: float,
) -> pd.DataFrame:
    """Return the threshold table with the policy's threshold added, flagged and explained.

    Parameters
    ----------
    labels, scores
        The rows the threshold was chosen on (valid).
    policy
        The spec's threshold policy (see :func:`choose_threshold`).
    chosen
        The threshold ``policy`` chose on these rows.

    Returns
    -------
    pandas.DataFrame
        :func:`threshold_table` at 0.01, ..., 0.99 and ``chosen`` (in increasing order), plus
        ``is_chosen`` (true on the chosen threshold's row only) and ``reason`` (on that row:
        the policy and the number it optimised; null elsewhere).
    """
    parsed = parse_threshold_policy(policy)
    cost = parsed.get("cost") if isinstance(parsed, dict) else None
    grid = np.union1d(DEFAULT_THRESHOLDS, [chosen])
    table = threshold_table(labels, scores, cost=cost, thresholds=grid)
    table["is_chosen"] = table["threshold"] == chosen
    row = table[table["is_chosen"]].iloc[0]
    table["reason"] = np.where(table["is_chosen"], threshold_reason(parsed, row), None)
    return table


def threshold_reason(policy: object, row: Mapping[str, float]) -> str:
    """Return why ``policy`` chose the threshold of ``row`` (a row of :func:`threshold_table`)."""
    parsed = parse_threshold_policy(policy)
    where = f"on valid ({int(row['tp'] + row['fp'] + row['tn'] + row['fn']):,} rows)"
    if parsed == "max_f1":
        return f"threshold policy max_f1: the highest F1 {where}, {row['f1']:.3f}"
    key, value = next(iter(parsed.items()))
    if key == "cost":
        costs = ", ".join(f"{k} {v:g}" for k, v in value.items())
        return (f"threshold policy cost ({costs}): the highest net value per row {where}, "
                f"{row['net_value']:.3f} (tp_value * TP - fp * FP - fn * FN, over n); "
                "expected_cost leaves the value of a true positive out, so its lowest can lie "
                "at another threshold")
    if key == "min_precision":
        return (f"threshold policy min_precision {value:g}: the most recall, "
                f"{row['recall']:.1%}, among thresholds with precision >= {value:g} {where}")
    return (f"threshold policy min_recall {value:g}: the most precision, "
            f"{row['precision']:.1%}, among thresholds with recall >= {value:g} {where}")


# --------------------------------------------------------------------------- leakage audit


def single_feature_auc(values: object, labels: np.ndarray) -> float:
    """Return how well one raw feature column alone separates the two classes.

    Parameters
    ----------
    values
        One feature column (numpy array, pandas Series or list). Numeric values are used as
        scores. Categorical values (strings, objects, pandas categories) are replaced by their
        category's positive rate in these rows, missing being a category of its own; with many
        rare categories (an id column) this is optimistic by construction.
    labels
        0/1 labels, same length.

    Returns
    -------
    float
        ``max(auc, 1 - auc)`` in [0.5, 1]: 1 means the column alone determines the label. For
        numeric columns, missing values are ranked once above and once below every value and the
        larger result is returned, so a column that is missing exactly on one class scores 1.
        NaN when the labels hold a single class.

    Raises
    ------
    ValueError
        If the lengths differ or the labels are not 0/1.
    """
    column = pd.Series(values).reset_index(drop=True)
    labels = _check_labels(labels, length=len(column))
    if not 0 < labels.sum() < len(labels):
        return np.nan
    if _is_categorical(column):
        # dropna=False keeps missing values together as one group instead of dropping them.
        groups = pd.Series(labels).groupby(column.astype(object).to_numpy(), dropna=False)
        rate = groups.transform("mean").to_numpy()
        return _symmetric_auc(labels, rate)
    numeric = pd.to_numeric(column, errors="raise").to_numpy(dtype=float)
    missing = np.isnan(numeric)
    # Ranks preserve the order (hence the AUC) and leave room for NaN below 1 and above m.
    ranks = np.zeros(len(numeric))
    ranks[~missing] = rankdata(numeric[~missing])
    below = _symmetric_auc(labels, np.where(missing, 0.0, ranks))
    above = _symmetric_auc(labels, np.where(missing, len(numeric) + 1.0, ranks))
    return max(below, above)


def single_feature_r(values: object, y: np.ndarray) -> float:
    """Return the absolute Pearson correlation of one numeric feature with a regression target.

    Parameters
    ----------
    values
        One numeric feature column.
    y
        Target values, same length.

    Returns
    -------
    float
        ``|r|`` in [0, 1] over the rows where both are present; NaN when fewer than two such rows
        remain or either side is constant on them.

    Raises
    ------
    ValueError
        If the lengths differ or ``values`` is not numeric.
    """
    column = pd.Series(values).reset_index(drop=True)
    if _is_categorical(column):
        raise ValueError("single_feature_r: values must be numeric")
    x = pd.to_numeric(column, errors="raise").to_numpy(dtype=float)
    target = np.asarray(y, dtype=float).ravel()
    if len(target) != len(x):
        raise ValueError(f"single_feature_r: {len(x)} values but {len(target)} targets")
    present = ~np.isnan(x) & ~np.isnan(target)
    x, target = x[present], target[present]
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(target) == 0:
        return np.nan
    return float(abs(np.corrcoef(x, target)[0, 1]))


# --------------------------------------------------------------------------- helpers






def _check_labels(labels: object, length: int | None = None) -> np.ndarray:
    """Return ``labels`` as a 1-D int array after checking it holds only 0 and 1."""
    array = np.asarray(labels).ravel()
    if length is not None and len(array) != length:
        raise ValueError(f"labels have {len(array)} rows, expected {length}")
    if not np.isin(array, [0, 1]).all():
        raise ValueError("labels must be 0/1")
    return array.astype(int)


def _check_vector(values: object, name: str, length: int | None = None) -> np.ndarray:
    """Return ``values`` as a non-empty finite 1-D float array of the expected length."""
    array = np.asarray(values, dtype=float).ravel()
    if len(array) == 0:
        raise ValueError(f"{name} is empty")
    if length is not None and len(array) != length:
        raise ValueError(f"{name} has {len(array)} rows, expected {length}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return array


def _check_binary(labels: object, scores: object) -> tuple[np.ndarray, np.ndarray]:
    """Return validated (int labels, float scores) of equal non-zero length."""
    scores = _check_vector(scores, "scores")
    return _check_labels(labels, length=len(scores)), scores


def _counts_at(
    labels: np.ndarray, scores: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the arrays (tp, fp, tn, fn) at each threshold with one sort and a binary search."""
    order = np.argsort(scores, kind="stable")
    # positives_below[k] = number of positives among the k lowest-scoring rows.
    positives_below = np.concatenate(([0], np.cumsum(labels[order])))
    below = np.searchsorted(scores[order], thresholds, side="left")  # rows with score < t
    fn = positives_below[below]
    tn = below - fn
    tp = positives_below[-1] - fn
    fp = (len(scores) - below) - tp
    return tp, fp, tn, fn


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Divide elementwise, giving 0 where the denominator is 0 (sklearn's zero_division=0)."""
    safe = np.where(denominator == 0, 1, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def _highest_argbest(candidates: np.ndarray, value: np.ndarray) -> float:
    """Return the highest of the ascending ``candidates`` where ``value`` is maximal."""
    return float(candidates[np.flatnonzero(value == value.max())[-1]])


def _check_max_points(max_points: int) -> None:
    """Raise ValueError unless a curve may keep both of its endpoints."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")


def _thin(length: int, max_points: int) -> np.ndarray:
    """Return at most ``max_points`` evenly spaced indices of ``range(length)``, ends included."""
    if length <= max_points:
        return np.arange(length)
    return np.unique(np.linspace(0, length - 1, max_points).round().astype(int))


def _above_all(scores: np.ndarray) -> float:
    """Return a finite threshold that no score reaches, for 'predict nothing positive'."""
    return float(np.nextafter(max(1.0, float(scores.max())), np.inf))


def _is_categorical(column: pd.Series) -> bool:
    """Tell whether a column holds categories rather than numbers (missing values ignored)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_numeric_dtype(column.dtype):
        return False
    kind = pd.api.types.infer_dtype(column, skipna=True)
    return kind not in ("floating", "integer", "mixed-integer-float", "decimal", "boolean", "empty")


def _symmetric_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Return max(auc, 1 - auc) of ``scores`` against both-class ``labels``."""
    auc = float(roc_auc_score(labels, scores))
    return max(auc, 1.0 - auc)
