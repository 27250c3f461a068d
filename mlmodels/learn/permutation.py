"""Permutation importances with the permuted copies predicted together, a block at a time.

scikit-learn's ``permutation_importance`` calls the pipeline once per feature and repeat: 66
calls for the demo's 22 features, each paying the preprocessing's and the estimator's fixed cost
on a few thousand rows (2.4 s of a 10 s training step at the demo scale). Here the copies are
stacked into frames of at most ``BLOCK_ROWS`` rows, one predict call each, a block per core
side by side (``mlmodels.learn.parallel``). The permutations are
scikit-learn's (the same seed from ``random_state``, the same cumulative shuffles per repeat), and
the score is the spec's selection metric (``training.metric_value``), signed so that a larger
importance means the model relies on the feature more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlmodels.learn import parallel

# Rows of one predict call: two blocks at once (one per core) stay within a few hundred MB with a
# hundred features, and the fixed cost of a call is negligible at this size.
BLOCK_ROWS = 200_000


def permutations(rows: int, n_repeats: int, random_state: int) -> list[np.ndarray]:
    """Return the row order of each repeat, as scikit-learn's permutation_importance draws them.

    It draws one seed from ``random_state`` for every feature, then per repeat shuffles an index
    in place and applies it to the column already shuffled: each repeat's order is the
    composition of the shuffles so far.
    """
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    generator = np.random.RandomState(seed)
    shuffling, order, orders = np.arange(rows), np.arange(rows), []
    for _ in range(n_repeats):
        generator.shuffle(shuffling)
        order = order[shuffling]
        orders.append(order)
    return orders


def _blocks(jobs: list[tuple[Any, np.ndarray]], rows: int,
            pieces: int) -> list[list[tuple[Any, np.ndarray]]]:
    """Split the (column, order) jobs into at least ``pieces`` runs of at most BLOCK_ROWS rows."""
    size = max(1, min(BLOCK_ROWS // max(rows, 1), -(-len(jobs) // pieces)))
    return [jobs[start:start + size] for start in range(0, len(jobs), size)]


def permutation_importances(
    X: pd.DataFrame | np.ndarray, y: np.ndarray, predict: Callable[[Any], np.ndarray],
    metric: Callable[[np.ndarray, np.ndarray], float], higher_is_better: bool,
    n_repeats: int, random_state: int, groups: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return each feature's mean and standard deviation of importance over the repeats.

    Parameters
    ----------
    X, y
        The rows scored and their labels: a frame as the pipeline takes it (a feature per
        column), or with ``groups`` a dense array of rows already transformed.
    predict
        Maps rows like ``X`` to one prediction per row (row by row: a row's prediction must not
        depend on the others, as holds for a fitted Pipeline).
    metric
        Maps (labels, predictions) to the score.
    higher_is_better
        The metric's direction; a loss's importance is the permuted loss minus the baseline's.
    n_repeats, random_state
        As scikit-learn's ``permutation_importance``.
    groups
        Per feature, the columns of ``X`` it became; they are permuted together. Transforms that
        map each value on its own (imputers, scalers, encoders once fitted) commute with a
        permutation of rows, so this equals permuting the feature before the transform, which
        then runs once instead of once per copy.
    """
    rows = len(X)
    sign = 1.0 if higher_is_better else -1.0
    baseline = metric(y, predict(X))
    orders = permutations(rows, n_repeats, random_state)
    features = list(X.columns) if groups is None else list(range(len(groups)))
    jobs = [(feature, order) for feature in features for order in orders]

    def permuted(feature: Any, order: np.ndarray) -> Any:
        if groups is None:
            copy = X.copy(deep=False)
            copy[feature] = X[feature].iloc[order].set_axis(X.index)
            return copy
        copy, columns = X.copy(), groups[feature]
        copy[:, columns] = X[np.ix_(order, columns)]
        return copy

    def score(block: list[tuple[Any, np.ndarray]]) -> list[float]:
        copies = [permuted(feature, order) for feature, order in block]
        stacked = (pd.concat(copies, ignore_index=True) if groups is None
                   else np.concatenate(copies))
        predicted = predict(stacked)
        return [metric(y, predicted[i * rows:(i + 1) * rows]) for i in range(len(block))]

    # A block per core at least: a tree ensemble's predict mostly runs on one.
    blocks = _blocks(jobs, rows, parallel.n_jobs())
    scores = [value for values in parallel.run_all(score, [(b,) for b in blocks]) for value in values]
    importance = sign * (baseline - np.asarray(scores, dtype=float)).reshape(len(features),
                                                                             n_repeats)
    return importance.mean(axis=1), importance.std(axis=1)
