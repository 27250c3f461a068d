"""Where a model gains, on the test split: lift by decile, residuals by decile, metrics by segment.

Pure functions: arrays (and the test rows' categorical columns) in, records out, stored with the
version as the evaluation tables ``lift``, ``residuals`` and ``segments`` (``ml_evaluation__*``).
A decile is a tenth of the rows by position once sorted by score (ties keep the rows' order), so
every decile holds ``n // 10`` or one more row, even when many rows share a score.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    mean_absolute_error,
    precision_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

N_BINS = 10
MAX_CATEGORIES = 10
OTHER = "(other)"
MISSING = "(missing)"

LIFT_COLUMNS = [
    "split", "decile", "rows", "positives", "positive_rate", "lift", "cumulative_positives",
    "cumulative_gain", "cumulative_lift", "min_score", "max_score",
]
RESIDUAL_COLUMNS = [
    "split", "decile", "rows", "min_prediction", "max_prediction", "mean_prediction",
    "mean_actual", "mean_residual", "rmse", "mae",
]
SEGMENT_COLUMNS = [
    "split", "feature", "category", "rows", "positives", "actual_rate", "mean_actual",
    "mean_prediction", "roc_auc", "precision", "recall", "threshold", "rmse", "mae",
]


def deciles(scores: np.ndarray, n_bins: int = N_BINS, descending: bool = True) -> np.ndarray:
    """Return each row's decile, 1..n_bins, by position once sorted by score.

    Decile 1 holds the highest scores when ``descending`` (lift), the lowest otherwise
    (residuals by prediction). Sizes differ by at most one row; ties keep the rows' order.
    """
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores if descending else scores, kind="stable")
    position = np.empty(len(scores), dtype=int)
    position[order] = np.arange(len(scores))
    return position * n_bins // max(len(scores), 1) + 1


def lift_table(labels: np.ndarray, scores: np.ndarray, split: str = "test",
               n_bins: int = N_BINS) -> list[dict[str, Any]]:
    """Return positives, lift and cumulative gain per decile of score, highest scores first.

    Parameters
    ----------
    labels
        0/1 labels.
    scores
        Positive-class probabilities, same length.
    split
        The split the rows are from (stored as a column).
    n_bins
        The number of bins (10: deciles).

    Returns
    -------
    list of dict
        One record per decile with ``LIFT_COLUMNS``: ``lift`` is the decile's positive rate
        over the rate of all rows, ``cumulative_gain`` the share of all positives in deciles
        1..d and ``cumulative_lift`` the positive rate of deciles 1..d over the overall rate.
    """
    labels = np.asarray(labels, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if len(labels) == 0:
        return []
    frame = pd.DataFrame({"decile": deciles(scores, n_bins), "label": labels, "score": scores})
    grouped = frame.groupby("decile").agg(rows=("label", "size"), positives=("label", "sum"),
                                          min_score=("score", "min"),
                                          max_score=("score", "max"))
    base_rate = labels.mean()
    total = labels.sum()
    cum_pos = grouped["positives"].cumsum()
    cum_rows = grouped["rows"].cumsum()
    records = []
    for decile, row in grouped.iterrows():
        rate = row["positives"] / row["rows"]
        records.append({
            "split": split, "decile": int(decile), "rows": int(row["rows"]),
            "positives": int(row["positives"]), "positive_rate": float(rate),
            "lift": float(rate / base_rate) if base_rate > 0 else float("nan"),
            "cumulative_positives": int(cum_pos[decile]),
            "cumulative_gain": float(cum_pos[decile] / total) if total > 0 else float("nan"),
            "cumulative_lift": (float(cum_pos[decile] / cum_rows[decile] / base_rate)
                                if base_rate > 0 else float("nan")),
            "min_score": float(row["min_score"]), "max_score": float(row["max_score"]),
        })
    return records


def residual_table(actual: np.ndarray, predicted: np.ndarray, split: str = "test",
                   n_bins: int = N_BINS) -> list[dict[str, Any]]:
    """Return mean prediction, mean actual and the errors per decile of prediction, lowest first.

    ``mean_residual`` is actual minus predicted: above zero, the model predicts too little in
    that decile.
    """
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if len(actual) == 0:
        return []
    frame = pd.DataFrame({"decile": deciles(predicted, n_bins, descending=False),
                          "actual": actual, "predicted": predicted})
    records = []
    for decile, rows in frame.groupby("decile"):
        residual = rows["actual"] - rows["predicted"]
        records.append({
            "split": split, "decile": int(decile), "rows": len(rows),
            "min_prediction": float(rows["predicted"].min()),
            "max_prediction": float(rows["predicted"].max()),
            "mean_prediction": float(rows["predicted"].mean()),
            "mean_actual": float(rows["actual"].mean()),
            "mean_residual": float(residual.mean()),
            "rmse": float(np.sqrt(np.mean(residual**2))),
            "mae": float(np.mean(np.abs(residual))),
        })
    return records


def segment_labels(values: pd.Series, max_categories: int = MAX_CATEGORIES) -> pd.Series:
    """Return each row's segment: its category, or ``(other)`` beyond the largest ones.

    The ``max_categories`` categories with most rows are kept (ties: by name); missing values
    are ``(missing)``.
    """
    text = values.astype(object).where(values.notna(), MISSING).astype(str)
    counts = text.value_counts()
    ranked = sorted(counts.index, key=lambda c: (-counts[c], c))
    kept = set(ranked[:max_categories])
    return text.where(text.isin(kept), OTHER)


def segment_table(
    features: pd.DataFrame, actual: np.ndarray, predicted: np.ndarray, *,
    is_classifier: bool, threshold: float | None = None, split: str = "test",
    max_categories: int = MAX_CATEGORIES,
) -> list[dict[str, Any]]:
    """Return the model's metrics per category of each categorical feature.

    Parameters
    ----------
    features
        The rows' categorical columns (one segment table per column).
    actual, predicted
        Labels (0/1) and positive-class probabilities, or actual and predicted values.
    is_classifier
        Classification: rows, positives, ``actual_rate``, ``mean_prediction``, ``roc_auc``
        (null when a segment holds one class only) and ``precision`` / ``recall`` at
        ``threshold``. Regression: rows, ``mean_actual``, ``mean_prediction``, ``rmse``, ``mae``.
    threshold
        The decision threshold of the classifier.
    split
        The split the rows are from.
    max_categories
        Categories beyond this many (by rows) are pooled into ``(other)``.

    Returns
    -------
    list of dict
        ``SEGMENT_COLUMNS`` per feature and category, categories by rows (most first), the
        pooled ``(other)`` last.
    """
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    records = []
    for feature in features.columns:
        segments = segment_labels(features[feature].reset_index(drop=True), max_categories)
        counts = segments.value_counts()
        order = sorted(counts.index, key=lambda c: (c == OTHER, -counts[c], c))
        for category in order:
            mask = (segments == category).to_numpy()
            metrics = segment_metrics(actual[mask], predicted[mask],
                                      is_classifier=is_classifier, threshold=threshold)
            row = {"split": split, "feature": feature, "category": category, **metrics}
            records.append({c: row.get(c, float("nan")) for c in SEGMENT_COLUMNS})
    return records


def segment_metrics(actual: np.ndarray, predicted: np.ndarray, *, is_classifier: bool,
                    threshold: float | None = None) -> dict[str, Any]:
    """Return the metrics of one segment's rows (see :func:`segment_table`)."""
    nan = float("nan")
    row: dict[str, Any] = {"rows": len(actual), "mean_prediction": float(np.mean(predicted))}
    if is_classifier:
        labels = actual.astype(int)
        cut = 0.5 if threshold is None else float(threshold)
        flagged = (predicted >= cut).astype(int)
        row |= {
            "positives": int(labels.sum()), "actual_rate": float(labels.mean()),
            "roc_auc": (float(roc_auc_score(labels, predicted)) if len(np.unique(labels)) == 2
                        else nan),
            "precision": float(precision_score(labels, flagged, zero_division=0)),
            "recall": float(recall_score(labels, flagged, zero_division=0))
            if labels.sum() else nan,
            "threshold": cut,
        }
    else:
        row |= {"mean_actual": float(np.mean(actual)),
                "rmse": float(root_mean_squared_error(actual, predicted)),
                "mae": float(mean_absolute_error(actual, predicted))}
    return row


def comparison_tables(spec: Any, X: dict[str, pd.DataFrame], y: dict[str, np.ndarray],
                      predictions: dict[str, np.ndarray], threshold: float | None
                      ) -> dict[str, list[dict[str, Any]]]:
    """Return the evaluation tables lift (classifiers), residuals (regression) and segments.

    All three are on the test split, scored once by the model fitted on train.
    """
    actual, predicted = y["test"], predictions["test"]
    categorical = [c for c in spec.categorical if c in X["test"].columns]
    return {
        "lift": lift_table(actual, predicted) if spec.is_classifier else [],
        "residuals": [] if spec.is_classifier else residual_table(actual, predicted),
        "segments": segment_table(X["test"][categorical], actual, predicted,
                                  is_classifier=spec.is_classifier, threshold=threshold)
        if len(actual) else [],
    }
