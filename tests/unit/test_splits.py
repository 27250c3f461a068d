import itertools

import numpy as np
import pandas as pd
import pytest

from mlmodels.learn.splits import SplitError, time_ordered_folds


def test_folds_are_time_ordered_with_embargo_and_whole_dates():
    dates = pd.Series(pd.date_range("2024-01-01", periods=12, freq="MS").repeat(5))
    folds = time_ordered_folds(dates, n_folds=3, embargo_days=60)
    assert len(folds) == 3
    for train, valid in folds:
        train_dates, valid_dates = set(dates.iloc[train]), set(dates.iloc[valid])
        # no fold validates on a date earlier than one it trained on, with the embargo between
        assert max(train_dates) + pd.Timedelta(days=60) <= min(valid_dates)
        # the rows of one date are never on both sides, nor split within a side
        assert not train_dates & valid_dates
        for day in valid_dates:
            assert (dates.iloc[valid] == day).sum() == (dates == day).sum()
    # expanding window: each fold trains on at least what the previous one did
    assert all(len(a[0]) <= len(b[0]) for a, b in itertools.pairwise(folds))


def test_too_few_dates_is_a_clear_error():
    dates = pd.Series(pd.date_range("2024-01-01", periods=3, freq="MS"))
    with pytest.raises(SplitError, match="at least 5 as_of dates"):
        time_ordered_folds(dates, n_folds=4)
    with pytest.raises(SplitError, match="no training dates at least 400 days"):
        time_ordered_folds(pd.Series(np.repeat(dates, 2)), n_folds=2, embargo_days=400)
