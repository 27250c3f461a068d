"""Population stability: reference bins fitted on the training split, and the reference PSI.

The warehouse computes PSI in SQL (``macros/feature_psi.sql``) against the bins stored here; the
numpy function :func:`psi` is the definition that SQL must reproduce.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

SMOOTHING = 1e-8
BIN_COLUMNS = [
    "feature", "feature_type", "bin_index", "lower_edge", "upper_edge", "category",
    "reference_count", "reference_total",
]


def decile_edges(values: np.ndarray) -> np.ndarray:
    """Return the bucket edges of the reference definition: deciles, with tied edges collapsed.

    The 0th, 10th, ..., 100th percentiles of ``values`` (numpy's default linear interpolation),
    with the outer edges replaced by -inf and +inf so that every later value falls in a bucket.
    Where ties make a bucket ``[lower, upper)`` empty on ``values`` (equal deciles of an integer
    feature, or a first decile equal to the minimum), its upper edge is dropped and it merges with
    the next bucket: so no reference bucket is empty, and PSI measures a shift of the values, not
    the smoothing constant of an empty bucket. Without ties, these are the plain 11 edges.
    """
    edges = np.percentile(values, np.linspace(0, 100, 11))
    edges[0], edges[-1] = -np.inf, np.inf
    edges = np.unique(edges)
    while len(edges) > 2:
        empty = np.flatnonzero(np.histogram(values, edges)[0] == 0)
        if len(empty) == 0:
            break
        # Drop the empty bucket's upper edge (its lower edge when it is the last bucket).
        drop = empty[0] + 1 if empty[0] + 1 < len(edges) - 1 else empty[0]
        edges = np.delete(edges, drop)
    return edges


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Return the population stability index of ``current`` against ``reference`` (no NaN).

    Bucket edges are :func:`decile_edges` of the reference; each side's share of a bucket is
    ``(count + 1e-8) / n`` with numpy.histogram's bucket rule; PSI is
    ``sum((current - reference) * ln(current / reference))``.
    """
    edges = decile_edges(np.asarray(reference, dtype=float))
    ref = (np.histogram(reference, edges)[0] + SMOOTHING) / len(reference)
    cur = (np.histogram(current, edges)[0] + SMOOTHING) / len(current)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def reference_bins(
    train: pd.DataFrame, numeric: Iterable[str], categorical: Iterable[str]
) -> pd.DataFrame:
    """Return the reference distribution of each feature on the training rows, one row per bin.

    Parameters
    ----------
    train
        The training split only (reference bins are fitted on train, like every other statistic).
    numeric, categorical
        Feature columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``BIN_COLUMNS``. Numeric features get up to ten buckets
        ``[lower_edge, upper_edge)`` over their non-null values (:func:`decile_edges`: none empty); categorical features one row per category seen in training.
        ``reference_total`` is the number of non-null training values of the feature.
    """
    rows: list[dict[str, object]] = []
    for feature in numeric:
        values = pd.to_numeric(train[feature]).dropna().to_numpy(dtype=float)
        rows += _decile_rows(values, feature, "numeric")
    for feature in categorical:
        values = train[feature].dropna()
        # Spell categories as the warehouse's cast(... as varchar) does (booleans: true/false).
        text = values.map({True: "true", False: "false"}) if values.dtype == bool else values
        counts = text.astype(str).value_counts().sort_index()
        for index, (category, count) in enumerate(counts.items()):
            rows.append({
                "feature": feature, "feature_type": "categorical", "bin_index": index,
                "lower_edge": None, "upper_edge": None, "category": category,
                "reference_count": int(count), "reference_total": int(counts.sum()),
            })
    return pd.DataFrame(rows, columns=BIN_COLUMNS)


def prediction_bins(test_scores: np.ndarray) -> pd.DataFrame:
    """Return the reference of prediction drift: decile bins of the scores of the test split.

    One row per bucket (``BIN_COLUMNS``), feature ``score``, feature_type ``prediction``. The test
    split is the reference because its scores come from rows the model never trained on, like
    the scores it makes later.
    """
    values = np.asarray(test_scores, dtype=float)
    values = values[~np.isnan(values)]
    return pd.DataFrame(_decile_rows(values, "score", "prediction"), columns=BIN_COLUMNS)


def _decile_rows(values: np.ndarray, feature: str, feature_type: str) -> list[dict[str, object]]:
    """Return the (up to ten) ``[lower_edge, upper_edge)`` buckets of ``values`` with their counts."""
    if len(values) == 0:
        return []
    edges = decile_edges(values)
    counts = np.histogram(values, edges)[0]
    return [{
        "feature": feature, "feature_type": feature_type, "bin_index": index,
        "lower_edge": float(edges[index]), "upper_edge": float(edges[index + 1]),
        "category": None, "reference_count": int(count), "reference_total": len(values),
    } for index, count in enumerate(counts)]


def psi_against_bins(bins: pd.DataFrame, values: pd.Series) -> float:
    """Return the PSI of ``values`` against one feature's stored reference bins.

    The bins are one feature's rows of :func:`reference_bins` (numeric buckets or categories);
    shares and smoothing are those of :func:`psi`. Values outside the reference's categories are
    left out (their share is what ``unseen_share`` reports in the warehouse).
    """
    ref = bins["reference_count"].to_numpy(dtype=float)
    present = values.dropna()
    if bins["feature_type"].iloc[0] == "categorical":
        text = present.map({True: "true", False: "false"}) if present.dtype == bool else present
        counts = text.astype(str).value_counts()
        cur = np.array([counts.get(c, 0) for c in bins["category"]], dtype=float)
    else:
        edges = [*bins["lower_edge"].to_numpy(dtype=float), float(bins["upper_edge"].iloc[-1])]
        cur = np.histogram(pd.to_numeric(present).to_numpy(dtype=float), edges)[0].astype(float)
    if len(present) == 0 or ref.sum() == 0:
        return float("nan")
    ref = (ref + SMOOTHING) / bins["reference_total"].iloc[0]
    cur = (cur + SMOOTHING) / len(present)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def null_shares(rows: pd.DataFrame) -> dict[str, float]:
    """Return each column's share of null values."""
    return {column: float(rows[column].isna().mean()) for column in rows.columns}
