import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import check_cv

from mlmodels.learn.splits import SplitError, TimeOrderedSplit, time_ordered_folds


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


def test_the_splitter_is_a_scikit_learn_cv_with_the_same_folds_and_the_embargo():
    # Irregular dates (gaps of 10 to 40 days), so the embargo drops a different number of
    # dates before each fold; 2 to 4 rows per date.
    rng = np.random.default_rng(3)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.cumsum(rng.integers(10, 41, 20)), "D")
    dates = pd.Series(np.repeat(days, rng.integers(2, 5, len(days))))
    X = np.zeros((len(dates), 1))
    cv = TimeOrderedSplit(n_splits=4, embargo_days=45)
    assert check_cv(cv) is cv
    assert cv.get_n_splits() == 4
    folds = list(cv.split(X, groups=dates))
    expected = time_ordered_folds(dates, 4, 45)
    assert len(folds) == len(expected) == 4
    embargoed = 0
    for (train, valid), (want_train, want_valid) in zip(folds, expected, strict=True):
        np.testing.assert_array_equal(train, want_train)
        np.testing.assert_array_equal(valid, want_valid)
        first_valid = dates.iloc[valid].min()
        # the embargo: no training row is dated within 45 days before the first valid date
        assert not (dates.iloc[train] > first_valid - pd.Timedelta(days=45)).any()
        assert (dates.iloc[valid] >= first_valid).all()
        embargoed += ((dates < first_valid) & ~dates.index.isin(train)).sum()
    assert embargoed > 0  # the embargo did leave rows out (the check above is not vacuous)
    with pytest.raises(ValueError, match="as_of date of each row as groups"):
        next(cv.split(X))
    with pytest.raises(ValueError, match="as_of dates"):
        next(cv.split(X[:-1], groups=dates))
