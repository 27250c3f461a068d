"""Profiles of marts, and a draft Great Expectations suite drafted from a training split.

:func:`profile` summarises every column of a frame in one row (null share, distinct count,
quantiles, most frequent values) plus class balance and duplicate counts, in a shape that can be
written to a warehouse table. :func:`draft_suite` turns the training split of a model into a
GX 1.x suite (a JSON-ready dict) that a person reads and edits before relying on it.

Longer than 500 lines because the profile and the suite drafted from it share the per-column
statistics and their rounding; drafting reads exactly what profiling measures.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.typing import SeriesGroupBy

from mlmodels.spec.specs import ModelSpec

PROFILE_COLUMNS = [
    "column", "dtype", "rows", "null_share", "distinct", "min", "max", "mean", "std",
    "p01", "p05", "p25", "p50", "p75", "p95", "p99", "skew", "top_categories", "note",
]
QUANTILES = {"p01": 1, "p05": 5, "p25": 25, "p50": 50, "p75": 75, "p95": 95, "p99": 99}
TOP_CATEGORIES = 5
MAX_CLASSES = 20
IMBALANCE_SHARE = 0.10
ROWS_COLUMN = "__rows__"
SIGNIFICANT_DIGITS = 6
MAX_VALUE_SET = 1000
NULL_SHARE_TOLERANCE = 0.05  # absolute: a feature null in 20% of rows may reach 25%
# The soft range holds for all but 1 row in 1,000: the maximum of a heavy tail grows with the
# rows seen, so a few record customers must not raise an alarm, while a corruption of more rows
# (a unit change, a shifted decimal point) still does.
RANGE_MOSTLY = 0.999

_FLOAT_COLUMNS = [
    "null_share", "min", "max", "mean", "std", *QUANTILES, "skew",
]
_TEXT_COLUMNS = ["column", "dtype", "top_categories", "note"]

# Type names that GX 1.x's pandas backend resolves (np.dtype(name), then getattr(pandas, name)),
# so that expect_column_values_to_be_in_type_list can match the column's dtype. "Int64" is not
# such a name: the nullable dtypes are spelled by their class, "Int64Dtype".
_INTEGER_TYPES = [
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype",
    "UInt8Dtype", "UInt16Dtype", "UInt32Dtype", "UInt64Dtype",
]
_FLOAT_TYPES = ["float16", "float32", "float64", "Float32Dtype", "Float64Dtype"]
_BOOL_TYPES = ["bool", "BooleanDtype"]
_DATETIME_TYPES = ["datetime64[s]", "datetime64[ms]", "datetime64[us]", "datetime64[ns]"]
# For an object column GX checks each value with isinstance ("str" -> str); for pandas'
# StringDtype() it compares the dtype with StringDtype() itself.
_STRING_TYPES = ["str", "StringDtype"]


# --------------------------------------------------------------------------------- profile


def profile(
    frame: pd.DataFrame, label: str | None = None, key: list[str] | None = None
) -> pd.DataFrame:
    """Profile every column of a frame, with class balance and duplicate counts on request.

    Parameters
    ----------
    frame
        The rows to profile (a mart, or a sample of it).
    label
        The target column, if any: adds a row for it with ``note`` ``"class balance"`` and the
        class shares in ``top_categories`` (with ``"imbalance warning: minority class x%"`` in
        the note when the smallest class holds less than 10% of the labelled rows). A numeric
        target with more than two distinct values gets its numeric statistics and the note
        ``"target distribution"`` instead.
    key
        The columns that identify a row, if any: adds a row with ``column`` ``"__rows__"``, the
        number of distinct keys in ``distinct`` and the note
        ``"duplicate rows on [...]: n; exact duplicate rows: m"``, where ``n`` counts the rows
        whose key occurs more than once and ``m`` the rows that occur more than once with every
        column equal.

    Returns
    -------
    pandas.DataFrame
        Columns ``PROFILE_COLUMNS``, one row per column of ``frame`` then the extra rows.
        Numeric columns (bool excluded) get min, max, mean, std (ddof=1), the quantiles of
        ``QUANTILES`` (numpy's linear interpolation) and skew (pandas' bias-corrected skew) over
        their finite values; infinite values are counted in ``note`` and left out. Other
        columns get ``top_categories``: JSON text of the five most frequent values and their
        share of all rows (nulls included in the denominator), e.g.
        ``[{"value": "basic", "share": 0.41}]``; dates also get their min and max in ``note``.
        Every number is finite or NaN.

    Raises
    ------
    ValueError
        If ``label`` or a ``key`` column is not a column of ``frame``.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, None], "plan": ["basic", "pro", "basic"]})
    >>> profile(frame)[["column", "null_share", "distinct"]].to_dict("records")[1]
    {'column': 'plan', 'null_share': 0.0, 'distinct': 2}
    """
    missing = [c for c in [*([label] if label else []), *(key or [])] if c not in frame.columns]
    if missing:
        raise ValueError(f"profile: no column {missing[0]!r} in the frame "
                         f"(columns: {list(frame.columns)})")
    rows = len(frame)
    records = [_column_profile(frame[name], str(name)) for name in frame.columns]
    if label:
        records.append(_label_profile(frame[label], label))
    if key:
        records.append(_rows_profile(frame, list(key)))
    result = pd.DataFrame(records, columns=PROFILE_COLUMNS)
    result["rows"] = rows
    result = result.astype({"rows": "int64", "distinct": "int64"})
    result[_FLOAT_COLUMNS] = result[_FLOAT_COLUMNS].astype("float64")
    # A mean of huge values can overflow: the table must hold finite numbers or NaN only.
    result[_FLOAT_COLUMNS] = result[_FLOAT_COLUMNS].replace([np.inf, -np.inf], np.nan)
    # Text columns stay text even when every value is missing, so the warehouse sees VARCHAR.
    return result.astype({c: "str" for c in _TEXT_COLUMNS})


def _is_numeric(series: pd.Series) -> bool:
    """Return True for numeric columns other than bool."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _column_profile(series: pd.Series, name: str) -> dict[str, Any]:
    """Return the profile record of one column."""
    rows = len(series)
    record: dict[str, Any] = {
        "column": name, "dtype": str(series.dtype),
        "null_share": float(series.isna().sum()) / rows if rows else np.nan,
        "distinct": 0, "top_categories": None, "note": None,
    }
    if _is_numeric(series):
        record.update(_numeric_stats(series))
        return record
    counts, note = _value_counts(series)
    record["distinct"] = len(counts)
    record["top_categories"] = _shares_json(counts.head(TOP_CATEGORIES), rows)
    notes = [note, _date_range(series)]
    record["note"] = "; ".join(n for n in notes if n) or None
    return record


def _numeric_stats(series: pd.Series) -> dict[str, Any]:
    """Return distinct count and moments/quantiles of the finite values of a numeric column.

    The finite values are sorted once: the quantiles and the distinct count are read off the
    sorted array (numpy's percentile partitions the array again, and a hash of every value for
    the distinct count took as long: 2-4 ms a column of 46k rows, against 0.3-0.6 ms sorted).
    """
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    finite = np.sort(values[np.isfinite(values)])
    infinite = int(np.isinf(values).sum())
    stats: dict[str, Any] = {"distinct": _distinct(series, finite, values)}
    if infinite:
        stats["note"] = f"infinite values: {infinite} (left out of the statistics)"
    if len(finite) == 0:
        return stats
    quantiles = sorted_percentiles(finite, list(QUANTILES.values()))
    # Moments of values near the float limit overflow to inf; profile() turns those into NaN.
    with np.errstate(over="ignore", invalid="ignore"):
        stats.update(
            min=float(finite[0]), max=float(finite[-1]), mean=float(finite.mean()),
            std=float(finite.std(ddof=1)) if len(finite) > 1 else np.nan,
            skew=float(pd.Series(finite).skew()),
            **{name: float(q) for name, q in zip(QUANTILES, quantiles, strict=True)},
        )
    return stats


def _distinct(series: pd.Series, finite: np.ndarray, values: np.ndarray) -> int:
    """Return the distinct non-null values of a numeric column, as ``series.nunique()`` counts.

    ``finite`` is its finite values sorted and ``values`` all of them as float64. Integers are
    counted in their own dtype: above 2**53 two of them can be one float64.
    """
    kind = series.dtype.kind  # nullable dtypes too: Int64 is "i", Float64 "f"
    if kind in "iu":
        return _runs(np.sort(series.dropna().to_numpy()))
    if kind != "f":
        return int(series.nunique())
    return _runs(finite) + int(np.isposinf(values).any()) + int(np.isneginf(values).any())


def _runs(ordered: np.ndarray) -> int:
    """Return the number of distinct values of a sorted array (0.0 and -0.0 are one)."""
    return int(ordered.size > 0) + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def sorted_percentiles(ordered: np.ndarray, percents: list[float]) -> np.ndarray:
    """Return ``np.percentile(ordered, percents)`` of sorted finite values, bit for bit.

    numpy's linear method, its steps in its order (virtual index, neighbours, lerp from the
    nearer side), without the partition numpy runs first: the array is sorted already.
    ``tests/unit/test_profiling.py`` holds the result equal to numpy's on random arrays.
    """
    q = np.true_divide(np.asarray(percents, dtype="float64"), 100)
    n = ordered.size
    virtual = (n - 1) * q
    below = np.floor(virtual)
    above = below + 1
    last = virtual >= n - 1
    below[last], above[last] = -1, -1
    first = virtual < 0
    below[first], above[first] = 0, 0
    t = virtual - below
    low, high = ordered[below.astype(np.intp)], ordered[above.astype(np.intp)]
    diff = high - low
    return np.where(t >= 0.5, high - diff * (1 - t), low + diff * t)


def _value_counts(series: pd.Series) -> tuple[pd.Series, str | None]:
    """Return the counts of the non-null values, most frequent first, and a note if any."""
    try:
        counts = series.value_counts(dropna=True, sort=True)
        note = None
    except TypeError:
        # Lists or dicts (DuckDB LIST and STRUCT columns) are unhashable: count their text.
        counts = series.dropna().astype(str).value_counts(sort=True)
        note = "unhashable values, counted as text"
    if isinstance(series.dtype, pd.CategoricalDtype):
        counts = counts[counts > 0]  # value_counts lists unused categories too
    return counts, note


def _shares_json(counts: pd.Series, rows: int) -> str | None:
    """Return JSON text of ``[{"value": v, "share": count / rows}, ...]``."""
    if counts.empty or rows == 0:
        return None
    return json.dumps([
        {"value": _json_value(value), "share": round(float(count) / rows, 4)}
        for value, count in counts.items()
    ])


def _json_value(value: Any) -> Any:
    """Return a JSON-native form of a scalar (numbers and booleans stay numbers)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, dt.date):  # datetime and pandas Timestamp too
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def _date_range(series: pd.Series) -> str | None:
    """Return "min ..., max ..." in ISO text for date and datetime columns, else None."""
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.dropna()
    elif series.dtype == object:
        values = series.dropna()
        # DuckDB DATE columns can arrive as Python dates in an object column.
        if values.empty or not isinstance(values.iloc[0], dt.date):
            return None
    else:
        return None
    if values.empty:
        return None
    try:
        low, high = values.min(), values.max()
    except TypeError:  # mixed types that do not compare
        return None
    return f"min {_json_value(low)}, max {_json_value(high)}"


def _label_profile(series: pd.Series, name: str) -> dict[str, Any]:
    """Return the extra row of the target: class balance, or the distribution of a number."""
    record = _column_profile(series, name)
    if _is_numeric(series) and record["distinct"] > 2:
        record["note"] = "target distribution"
        return record
    counts, _ = _value_counts(series)
    labelled = int(counts.sum())
    record["top_categories"] = _shares_json(counts.head(MAX_CLASSES), labelled)
    if pd.api.types.is_bool_dtype(series) and labelled:
        record["mean"] = float(counts.get(True, 0)) / labelled  # the positive rate
    notes = ["class balance"]
    if len(counts) == 1:
        notes.append("imbalance warning: one class only")
    elif len(counts) > 1 and counts.iloc[-1] / labelled < IMBALANCE_SHARE:
        notes.append(f"imbalance warning: minority class {counts.iloc[-1] / labelled:.1%}")
    record["note"] = "; ".join(notes)
    return record


def _rows_profile(frame: pd.DataFrame, key: list[str]) -> dict[str, Any]:
    """Return the extra row with duplicate counts on the key and across all columns.

    The key is grouped once (nulls as one value, as ``duplicated`` compares them). Rows equal
    in every column share their key, so the exact duplicates are looked for only among the rows
    whose key repeats: none, in a mart whose grain holds.
    """
    groups = frame.groupby(key, dropna=False, sort=False).ngroup().to_numpy()
    sizes = np.bincount(groups)
    on_key = sizes[groups] > 1
    try:
        # No key repeats in a mart whose grain holds: no rows to take (a copy of every column).
        exact = str(int(frame[on_key].duplicated(keep=False).sum())) if on_key.any() else "0"
    except TypeError:  # an unhashable column (lists, dicts) cannot be compared row-wise
        exact = "not counted (unhashable values)"
    return {
        "column": ROWS_COLUMN, "dtype": None, "null_share": np.nan, "distinct": len(sizes),
        "top_categories": None,
        "note": f"duplicate rows on {key}: {int(on_key.sum())}; exact duplicate rows: {exact}",
    }


# --------------------------------------------------------------------------- draft suite


def draft_suite(
    spec: ModelSpec,
    train: pd.DataFrame,
    partition_column: str | None = None,
    label: bool = True,
) -> dict[str, Any]:
    """Draft a Great Expectations 1.x suite from the training split of a model.

    Parameters
    ----------
    spec
        The model's spec, resolved against the training set's columns (its ``numeric`` and
        ``categorical`` lists name columns, not patterns).
    train
        The training split (or the rows of a gated mart in the training window). Expectations on
        columns that the frame lacks are not drafted, so the frame can be any mart the model
        reads.
    partition_column
        The column the suite is validated per value of (usually ``spec.as_of``): row counts and
        the bands of means and medians are fitted on per-partition statistics. None: the frame
        is one partition.
    label
        Whether to draft expectations on the target (not null, type, positive rate).

    Returns
    -------
    dict
        A JSON-serialisable suite ``{"name", "meta", "expectations"}``; each expectation is
        ``{"type", "kwargs", "meta": {"severity": "error" | "warn"}}``. Floats are rounded to
        six significant digits, outwards, so every bound still holds on ``train`` itself.
        Checks that could not be drafted are listed in ``meta["not_drafted"]`` with the reason.

    Notes
    -----
    GX 1.24 cannot match pandas 3's default string dtype (``str``), categoricals or timezone-aware
    datetimes in ``expect_column_values_to_be_in_type_list`` (it compares the dtype against
    dtypes built from the names, and none of those names builds these), so columns of those
    dtypes get no type expectation; categorical features are pinned by their value set instead.
    """
    columns = list(train.columns)
    draft = _Draft(train, partition_column if partition_column in columns else None)
    draft.add("expect_table_columns_to_match_set", "error",
              column_set=[str(c) for c in columns], exact_match=False)

    keys = [c for c in (spec.entity_key, spec.as_of) if c and c in columns]
    target = spec.target if label and spec.target in columns else None
    for column in [*keys, *([target] if target else [])]:
        draft.add("expect_column_values_to_not_be_null", "error", column=column)
    numeric = [c for c in spec.numeric if c in columns]
    categorical = [c for c in spec.categorical if c in columns]
    for column in [*numeric, *categorical]:
        if not train[column].isna().any():
            draft.add("expect_column_values_to_not_be_null", "error", column=column)
        else:
            draft.null_share_bound(column)
    for column in [*keys, *([target] if target else []), *numeric, *categorical]:
        draft.type_check(column)
    draft.uniqueness(spec, keys)
    draft.row_counts()
    for column in numeric:
        draft.numeric_bounds(column)
    for column in categorical:
        draft.value_set(column)
    if target and spec.is_classifier:
        draft.positive_rate(target)
    for column in numeric:
        draft.distribution(column)

    meta: dict[str, Any] = {
        "partition_column": draft.partition_column,
        "drafted_from": f"train split of {spec.training_set}",
        "notes": "Drafted by mlmodels; edit before relying on it",
    }
    if draft.not_drafted:
        meta["not_drafted"] = draft.not_drafted
    return {"name": spec.training_set, "meta": meta, "expectations": draft.expectations}


class _Draft:
    """Collects the expectations of a suite drafted from one training frame."""

    def __init__(self, train: pd.DataFrame, partition_column: str | None):
        self.train = train
        self.partition_column = partition_column
        self.expectations: list[dict[str, Any]] = []
        self.not_drafted: list[dict[str, str]] = []

    def add(self, kind: str, severity: str, **kwargs: Any) -> None:
        """Append one expectation."""
        self.expectations.append({"type": kind, "kwargs": kwargs, "meta": {"severity": severity}})

    def skip(self, column: str, kind: str, reason: str) -> None:
        """Record a check that was not drafted, so the person editing the suite sees why."""
        self.not_drafted.append({"column": column, "expectation": kind, "reason": reason})

    def groups(self, column: str) -> SeriesGroupBy:
        """Return the column grouped by partition (one group for an unpartitioned suite)."""
        values = self.numbers(column)
        if self.partition_column is None:
            return values.groupby(np.zeros(len(values), dtype=np.int8))
        return values.groupby(self.train[self.partition_column], observed=True)

    def numbers(self, column: str) -> pd.Series:
        """Return a numeric column as float64 with NaN for missing values."""
        values = self.train[column].to_numpy(dtype="float64", na_value=np.nan)
        return pd.Series(values, index=self.train.index, name=column)

    def type_check(self, column: str) -> None:
        """Add expect_column_values_to_be_in_type_list for a column GX can type-check."""
        kind = "expect_column_values_to_be_in_type_list"
        types = gx_type_list(self.train[column])
        if types is None:
            self.skip(column, kind, f"GX 1.x cannot match the pandas dtype "
                                    f"{self.train[column].dtype}")
            return
        self.add(kind, "error", column=column, type_list=types)

    def uniqueness(self, spec: ModelSpec, keys: list[str]) -> None:
        """Add the uniqueness of the entity key (per as_of date for point-in-time data)."""
        if spec.entity_key not in keys:
            return
        if spec.as_of and spec.as_of in keys:
            self.add("expect_compound_columns_to_be_unique", "error",
                     column_list=[spec.entity_key, spec.as_of])
        else:
            self.add("expect_column_values_to_be_unique", "error", column=spec.entity_key)

    def row_counts(self) -> None:
        """Add a hard floor and a soft ceiling on the rows of a partition."""
        if self.partition_column is None:
            sizes = np.array([len(self.train)])
        else:
            sizes = self.train.groupby(self.partition_column, observed=True).size().to_numpy()
        if len(sizes) == 0:
            return
        self.add("expect_table_row_count_to_be_between", "error",
                 min_value=math.floor(0.5 * int(sizes.min())), max_value=None)
        self.add("expect_table_row_count_to_be_between", "warn",
                 min_value=None, max_value=3 * int(sizes.max()))

    def null_share_bound(self, column: str) -> None:
        """Bound the share of nulls of a column that has some in train (severity warn).

        The bound is the largest share of any training partition plus ``NULL_SHARE_TOLERANCE``
        (GX's ``mostly`` is the share of non-null values required). Severity warn: a feature
        that is null by definition (no order, no average) varies with the business, and a
        failed warning on new data keeps a retrained version challenger (the promotion guard).
        """
        missing = self.train[column].isna()
        if self.partition_column is None:
            highest = float(missing.mean())
        else:
            highest = float(missing.groupby(self.train[self.partition_column],
                                            observed=True).mean().max())
        mostly = round(max(0.0, 1.0 - highest - NULL_SHARE_TOLERANCE), 4)
        if mostly > 0:
            self.add("expect_column_values_to_not_be_null", "warn", column=column, mostly=mostly)
        else:
            self.skip(column, "expect_column_values_to_not_be_null",
                      f"up to {highest:.0%} null in a training partition: no bound left")

    def numeric_bounds(self, column: str) -> None:
        """Add a soft range and a floor of 0.

        The range is train's widened by half of it each side, for ``RANGE_MOSTLY`` of the rows;
        the floor holds for every row.
        """
        kind = "expect_column_values_to_be_between"
        if pd.api.types.is_bool_dtype(self.train[column]):
            self.skip(column, kind, "a boolean column: no range, mean or median bands")
            return
        values = self.numbers(column)
        values = values[np.isfinite(values)]
        if values.empty:
            self.skip(column, kind, "no finite value in train")
            return
        low, high = float(values.min()), float(values.max())
        # A constant column has no range to widen by: widen by half its size (or 1) instead.
        width = 0.5 * (high - low) if high > low else max(0.5 * abs(low), 1.0)
        lower = low - width
        if low >= 0:
            lower = max(lower, 0.0)
        upper: float | None = round_up(high + width)
        if self.grows(column):
            # Tenure, lifetime totals: the train window's maximum is broken by later data by
            # construction, so an upper bound would only ever cry wolf.
            upper = None
            self.skip(column, f"{kind} (max_value)", "grows with the partitions by "
                                                     "construction: no upper bound")
        self.add(kind, "warn", column=column, min_value=round_down(lower), max_value=upper,
                 mostly=RANGE_MOSTLY)
        if low >= 0:
            # A sign flip is an error, not drift: counts, amounts and ages are never negative.
            self.add(kind, "error", column=column, min_value=0, max_value=None)

    def grows(self, column: str) -> bool:
        """Return whether a column's per-partition maximum rises with every partition."""
        if self.partition_column is None:
            return False
        highest = self.numbers(column).groupby(self.train[self.partition_column],
                                               observed=True).max().sort_index().to_numpy()
        highest = highest[np.isfinite(highest)]
        return len(highest) >= 3 and bool(np.all(np.diff(highest) > 0))

    def value_set(self, column: str) -> None:
        """Add the set of values a categorical feature takes in train."""
        kind = "expect_column_values_to_be_in_set"
        series = self.train[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            self.skip(column, kind, "a date column; its values are not a set")
            return
        values = pd.unique(series.dropna())
        if len(values) > MAX_VALUE_SET:
            self.skip(column, kind, f"{len(values)} distinct values in train "
                                    f"(more than {MAX_VALUE_SET})")
            return
        value_set = sorted((_json_value(v) for v in values), key=lambda v: (str(type(v)), v))
        self.add(kind, "error", column=column, value_set=value_set)

    def positive_rate(self, target: str) -> None:
        """Add a band on the positive rate of a 0/1 target: a quarter to 2.5 times train's."""
        kind = "expect_column_mean_to_be_between"
        series = self.train[target]
        if not (_is_numeric(series) or pd.api.types.is_bool_dtype(series)):
            self.skip(target, kind, "the target is not 0/1, so it has no mean")
            return
        values = self.numbers(target)
        rate = float(values.mean())
        if not math.isfinite(rate):
            self.skip(target, kind, "no labelled row in train")
            return
        low, high = 0.25 * rate, 2.5 * rate
        low, high = _cover(low, high, self.groups(target), "mean")
        self.add(kind, "error", column=target,
                 min_value=max(round_down(low), 0.0), max_value=min(round_up(high), 1.0))

    def distribution(self, column: str) -> None:
        """Add soft bands on the mean and the median of a numeric feature."""
        if pd.api.types.is_bool_dtype(self.train[column]):
            return
        values = self.numbers(column)
        finite = values[np.isfinite(values)]
        if finite.empty:
            return
        groups = self.groups(column)
        spread = float(finite.std(ddof=1)) if len(finite) > 1 else 0.0
        mean_low, mean_high = _band(float(finite.mean()), groups, "mean", spread)
        self.add("expect_column_mean_to_be_between", "warn", column=column,
                 min_value=round_down(mean_low), max_value=round_up(mean_high))
        integer = bool(np.all(finite == np.round(finite)))
        median_low, median_high = _band(float(np.median(finite)), groups, "median", spread,
                                        integer)
        self.add("expect_column_quantile_values_to_be_between", "warn", column=column,
                 quantile_ranges={"quantiles": [0.5],
                                  "value_ranges": [[round_down(median_low),
                                                    round_up(median_high)]]})


def _partition_stats(groups: SeriesGroupBy, stat: str) -> np.ndarray:
    """Return a statistic per partition, as GX's pandas backend computes it, without NaN."""
    if stat == "median":
        # GX's quantile metric on pandas uses interpolation="nearest" by default.
        values = groups.quantile(0.5, interpolation="nearest")
    else:
        values = groups.mean()
    values = values.to_numpy(dtype="float64")
    return values[np.isfinite(values)]


def _band(
    center: float,
    groups: SeriesGroupBy,
    stat: str,
    spread: float,
    integer: bool = False,
) -> tuple[float, float]:
    """Return center +- 3 sd of the per-partition statistic, or +-50% with one partition.

    A band never gets narrower than a tenth of the feature's standard deviation, and a median of
    an integer feature's band never narrower than +-1: per-partition medians of counts are often
    all equal, and a band of zero width fails on the first partition that moves by one.
    """
    per_partition = _partition_stats(groups, stat)
    if len(per_partition) > 1:
        half = max(3 * float(np.std(per_partition, ddof=1)), 0.1 * spread)
    else:
        # A relative band collapses for a mean near zero: a quarter of the feature's standard
        # deviation is the least a band is allowed to be.
        half = max(0.5 * abs(center), 0.25 * spread)
    if integer and stat == "median":
        half = max(half, 1.0)
    return _cover(center - half, center + half, groups, stat, per_partition)


def _cover(
    low: float,
    high: float,
    groups: SeriesGroupBy,
    stat: str,
    per_partition: np.ndarray | None = None,
) -> tuple[float, float]:
    """Return the band widened to hold every training partition's statistic, with a margin."""
    if per_partition is None:
        per_partition = _partition_stats(groups, stat)
    if len(per_partition):
        lowest, highest = float(per_partition.min()), float(per_partition.max())
        # GX sums in its own order: leave room for the last bits of an observed float.
        low = min(low, lowest - 1e-9 * abs(lowest))
        high = max(high, highest + 1e-9 * abs(highest))
    return low, high


def gx_type_list(series: pd.Series) -> list[str] | None:
    """Return type names that GX 1.x's pandas backend matches for a column, or None.

    Parameters
    ----------
    series
        The column as the validation will see it.

    Returns
    -------
    list of str or None
        Every integer and float dtype name for numbers (a column of integers arrives as floats
        or as a nullable ``Int32`` once it holds a null), the bool names for booleans, the naive
        ``datetime64`` units for datetimes, and ``["str", "StringDtype"]`` for strings held in an
        object column or in ``pandas.StringDtype()``. None where GX 1.24 cannot match the dtype:
        pandas 3's default ``str`` dtype, categoricals, timezone-aware datetimes and anything else.
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return list(_BOOL_TYPES)
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return [*_INTEGER_TYPES, *_FLOAT_TYPES]
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return list(_DATETIME_TYPES)
    if isinstance(dtype, pd.StringDtype):
        # GX builds StringDtype() from the name; the NaN-semantics "str" dtype never equals it.
        return list(_STRING_TYPES) if dtype == pd.StringDtype() else None
    if dtype == object and pd.api.types.infer_dtype(series, skipna=True) == "string":
        return list(_STRING_TYPES)
    return None


def round_down(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """Return ``value`` rounded down to ``digits`` significant digits."""
    return _round_significant(value, digits, math.floor)


def round_up(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """Return ``value`` rounded up to ``digits`` significant digits."""
    return _round_significant(value, digits, math.ceil)


def _round_significant(value: float, digits: int, direction: Any) -> float:
    """Round to significant digits in the given direction (math.floor or math.ceil)."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    exponent = math.floor(math.log10(abs(value))) - digits + 1
    step = 1 if direction is math.ceil else -1
    # Integer powers of ten are exact, so the division below is correctly rounded.
    if exponent < 0:
        scale = 10 ** -exponent
        units = direction(value * scale)
        rounded = units / scale
        # value * scale can round across an integer: step one unit outward if the bound moved in.
        if (rounded - value) * step < 0:
            rounded = (units + step) / scale
    else:
        scale = 10 ** exponent
        units = direction(value / scale)
        rounded = float(units * scale)
        if (rounded - value) * step < 0:
            rounded = float((units + step) * scale)
    return float(rounded)
