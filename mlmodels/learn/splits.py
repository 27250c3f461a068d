"""Splits computed in Python: time-ordered CV folds, and the random split of snapshot data.

The train / valid / test split of time-indexed data is SQL (``macros/time_split.sql``); what is
here only subdivides the train split (cross-validation) or splits data that has no time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split


class SplitError(ValueError):
    """The rows cannot be split as asked (too few periods or rows)."""


def time_ordered_folds(
    as_of: pd.Series, n_folds: int, embargo_days: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return expanding-window CV folds over as_of dates, as positional index arrays.

    The distinct as_of dates are cut into ``n_folds + 1`` consecutive blocks. Fold ``k`` validates
    on block ``k + 1`` and trains on every earlier date at least ``embargo_days`` before that
    block starts, so no fold validates on a date earlier than one it trained on, no label window
    of a training row reaches into the validation block, and the rows of one as_of date are never
    on both sides.

    Parameters
    ----------
    as_of
        The as_of date of each row.
    n_folds
        Number of folds.
    embargo_days
        Minimum days between the last training date and the first validation date of a fold.

    Returns
    -------
    list of (train_positions, valid_positions)

    Raises
    ------
    SplitError
        If there are too few dates for the folds and the embargo.
    """
    dates = pd.to_datetime(as_of).to_numpy()
    unique = np.unique(dates)
    if len(unique) < n_folds + 1:
        raise SplitError(
            f"time-ordered CV needs at least {n_folds + 1} as_of dates in train, got {len(unique)}"
        )
    blocks = np.array_split(unique, n_folds + 1)
    embargo = np.timedelta64(embargo_days, "D")
    folds = []
    for block in blocks[1:]:
        train = np.flatnonzero(dates <= block[0] - embargo)
        valid = np.flatnonzero(np.isin(dates, block))
        if len(train) == 0:
            raise SplitError(
                f"time-ordered CV: no training dates at least {embargo_days} days before "
                f"{pd.Timestamp(block[0]).date()}; use fewer folds or more history"
            )
        folds.append((train, valid))
    return folds


def stratified_random_split(
    target: pd.Series, valid_fraction: float, test_fraction: float, seed: int, stratify: bool
) -> np.ndarray:
    """Return 'train' / 'valid' / 'test' per row for data without time (snapshot data).

    Classification targets are stratified so each split keeps the class balance.
    """
    positions = np.arange(len(target))
    labels = target.to_numpy() if stratify else None
    rest, test = train_test_split(
        positions, test_size=test_fraction, random_state=seed, stratify=labels
    )
    rest_labels = labels[rest] if stratify else None
    train, valid = train_test_split(
        rest, test_size=valid_fraction / (1 - test_fraction), random_state=seed,
        stratify=rest_labels,
    )
    split = np.empty(len(target), dtype=object)
    split[train], split[valid], split[test] = "train", "valid", "test"
    return split
