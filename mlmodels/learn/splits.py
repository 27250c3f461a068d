"""Splits computed in Python: time-ordered CV folds, and the random split of snapshot data.

The train / valid / test split of time-indexed data is SQL (``macros/time_split.sql``); what is
here only subdivides the train split (cross-validation) or splits data that has no time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator, train_test_split


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


class TimeOrderedSplit(BaseCrossValidator):
    """:func:`time_ordered_folds` as a scikit-learn CV splitter, for ``GridSearchCV(cv=...)``.

    The as_of date of each row is passed as ``groups``, as to scikit-learn's group splitters:
    the rows of one date are a group that is never on both sides of a fold. The folds are the
    ones :func:`time_ordered_folds` returns for those dates.

    Parameters
    ----------
    n_splits
        Number of folds.
    embargo_days
        Minimum days between the last training date and the first validation date of a fold.

    Examples
    --------
    >>> dates = pd.Series(pd.date_range("2024-01-01", periods=6, freq="MS").repeat(2))
    >>> cv = TimeOrderedSplit(n_splits=2, embargo_days=31)
    >>> [(train.tolist(), valid.tolist()) for train, valid in cv.split(dates, groups=dates)]
    [([0, 1], [4, 5, 6, 7]), ([0, 1, 2, 3, 4, 5], [8, 9, 10, 11])]
    """

    # With metadata routing enabled, a search passes ``groups`` only to splitters that ask.
    __metadata_request__split: ClassVar[dict[str, bool]] = {"groups": True}

    def __init__(self, n_splits: int = 3, embargo_days: int = 0):
        self.n_splits = n_splits  # store only: clone() and the repr rely on it
        self.embargo_days = embargo_days

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield the (train, valid) positions of each fold.

        Parameters
        ----------
        X
            The rows (only their number is used).
        y
            Ignored; present for the splitter API.
        groups
            The as_of date of each row.

        Yields
        ------
        (train_positions, valid_positions)

        Raises
        ------
        ValueError
            If ``groups`` is missing or not one date per row.
        SplitError
            If there are too few dates for the folds and the embargo.
        """
        if groups is None:
            raise ValueError("TimeOrderedSplit needs the as_of date of each row as groups")
        if len(groups) != len(X):
            raise ValueError(f"TimeOrderedSplit: {len(groups)} as_of dates (groups) for "
                             f"{len(X)} rows")
        yield from time_ordered_folds(pd.Series(np.asarray(groups)), self.n_splits,
                                      self.embargo_days)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Return the number of folds (the arguments are ignored; present for the API)."""
        return self.n_splits


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
