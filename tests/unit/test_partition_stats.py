"""Partition-level expectations from one SQL aggregate agree with GX validating each partition."""

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from mlmodels.quality import partition_stats, validation

RANGE = {"min_value": 2.0, "max_value": 6.0}
EXPECTATIONS = [
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 3}},
    {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 8}},
    # Bounds equal to partition sizes (3 and 25 rows): strictness decides.
    {"type": "expect_table_row_count_to_be_between",
     "kwargs": {"min_value": 3, "max_value": 25, "strict_min": True, "strict_max": True}},
    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "x", **RANGE}},
    {"type": "expect_column_mean_to_be_between",
     "kwargs": {"column": "n", "min_value": 4, "strict_min": True}},
    {"type": "expect_column_median_to_be_between", "kwargs": {"column": "x", **RANGE}},
    {"type": "expect_column_stdev_to_be_between", "kwargs": {"column": "x", "max_value": 2.5}},
    {"type": "expect_column_sum_to_be_between", "kwargs": {"column": "n", "max_value": 40}},
    {"type": "expect_column_min_to_be_between", "kwargs": {"column": "x", "min_value": 1.0}},
    {"type": "expect_column_max_to_be_between",
     "kwargs": {"column": "d", "max_value": 9.5, "strict_max": True}},
    {"type": "expect_column_proportion_of_unique_values_to_be_between",
     "kwargs": {"column": "n", "min_value": 0.5}},
    {"type": "expect_column_quantile_values_to_be_between",
     "kwargs": {"column": "x", "quantile_ranges": {
         "quantiles": [0.07, 0.25, 0.5, 0.9],
         "value_ranges": [[None, 3.0], [1.0, 5.0], [2.0, None], [None, 9.0]]}}},
    {"type": "expect_column_quantile_values_to_be_between",
     "kwargs": {"column": "n", "quantile_ranges": {
         "quantiles": [0.5], "value_ranges": [[None, None]]}}},
    # Left to GX partition by partition: a row condition, a text column, a date column.
    {"type": "expect_column_mean_to_be_between",
     "kwargs": {"column": "x", "min_value": 1.0, "row_condition": 'n>2',
                "condition_parser": "pandas"}},
    {"type": "expect_column_proportion_of_unique_values_to_be_between",
     "kwargs": {"column": "s", "min_value": 0.5}},
    {"type": "expect_column_max_to_be_between",
     "kwargs": {"column": "when", "max_value": "2024-12-31 00:00:00"}},
]
ABSENT = "2024-06-01"  # expected, but the mart has no rows for it


def partitions() -> dict[str, pd.DataFrame]:
    """Partitions of varied shape: ties, nulls, one row, all null, a wide spread."""
    rng = np.random.default_rng(7)
    shapes = {
        "2024-01-01": rng.integers(0, 10, 8).astype(float),       # ties at every quantile
        "2024-02-01": np.r_[rng.normal(4, 1, 10), [np.nan] * 3],  # nulls are ignored
        "2024-03-01": np.array([5.0]),                            # no stdev of one value
        "2024-04-01": np.array([np.nan, np.nan, np.nan]),         # no statistic at all
        "2024-05-01": rng.exponential(3, 25),                     # a long tail
    }
    frames = {}
    for day, x in shapes.items():
        n = len(x)
        frames[day] = pd.DataFrame({
            "as_of_date": pd.Timestamp(day), "x": x,
            "n": rng.integers(0, 9, n), "d": np.round(rng.uniform(0, 10, n), 2),
            "s": rng.choice(["a", "b", "c"], n),
            "when": pd.Timestamp(day) + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
        })
    return frames


@pytest.fixture(scope="module")
def mart(tmp_path_factory):
    path = tmp_path_factory.mktemp("suite") / "mart.json"
    path.write_text(json.dumps({"name": "mart", "expectations": EXPECTATIONS}))
    suite = validation.load_suite(path)
    frames = partitions()
    con = duckdb.connect()
    con.register("frames", pd.concat(frames.values(), ignore_index=True))
    con.execute("create table mart as select * replace (as_of_date::date as as_of_date, "
                "n::integer as n, d::decimal(6, 2) as d) from frames")
    return suite, con.table("mart"), frames


def observed(text):
    return None if pd.isna(text) else json.loads(text)


def close(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(close, a, b))
    if a is None or b is None or isinstance(a, str):
        return a == b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a))


def test_statistics_agree_with_gx_validating_each_partition(mart):
    suite, relation, frames = mart
    results = validation.validate_chunked(relation, suite, "as_of_date",
                                       expected=[*frames, ABSENT])
    assert sorted(set(results.partition)) == sorted([*frames, ABSENT])
    oracle_input = {day: relation.filter(f"as_of_date = '{day}'").df() for day in frames}
    oracle_input[ABSENT] = relation.limit(0).df()
    compared = 0
    for day, frame in oracle_input.items():
        mine = results[results.partition == day].reset_index(drop=True)
        gx = validation.validate(frame, suite, partition=day)
        assert mine.expectation.tolist() == gx.expectation.tolist()
        for position, (a, b) in enumerate(zip(mine.itertuples(), gx.itertuples(), strict=True)):
            where = f"{day} expectation {position} ({a.expectation} {a.column})"
            assert a.success == b.success, where
            assert close(observed(a.observed_value), observed(b.observed_value)), (
                where, a.observed_value, b.observed_value)
            assert (a.rows, a.kwargs, a.severity) == (b.rows, b.kwargs, b.severity), where
            compared += 1
    assert compared == len(EXPECTATIONS) * len(oracle_input)
    # Not a vacuous comparison: both outcomes occur for most expectations.
    outcomes = results.groupby("kwargs").success.nunique()
    assert (outcomes == 2).sum() >= 10


def test_only_exact_forms_are_computed_in_sql(mart):
    _, relation, _ = mart
    types = dict(zip(relation.columns, map(str, relation.types), strict=True))
    in_sql = [partition_stats.statistic(i, e, types) is not None
              for i, e in enumerate(EXPECTATIONS)]
    assert in_sql == [True] * 13 + [False] * 3


def test_unusual_kwargs_are_left_to_gx():
    types = {"x": "DOUBLE", "flag": "BOOLEAN"}
    mean = "expect_column_mean_to_be_between"
    for kwargs in [{"column": "x", "min_value": {"$PARAMETER": "low"}},
                   {"column": "x"},
                   {"column": "flag", "min_value": 0},
                   {"column": "missing", "min_value": 0},
                   {"column": "x", "min_value": 0, "mostly": 0.9}]:
        assert partition_stats.statistic(0, {"type": mean, "kwargs": kwargs}, types) is None
    quantiles = {"column": "x", "quantile_ranges": {"quantiles": [0.5], "value_ranges": [[0, 1]]},
                 "allow_relative_error": "linear"}
    assert partition_stats.statistic(
        0, {"type": partition_stats.QUANTILES, "kwargs": quantiles}, types) is None
