"""Row-level expectations counted in SQL agree with GX validating the whole frame in pandas."""

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from mlmodels.engine import table
from mlmodels.quality import row_checks, validation

EXPECTATIONS = [
    {"type": "expect_table_columns_to_match_set",
     "kwargs": {"column_set": ["as_of_date", "id", "x", "n", "c", "dec", "flag", "when",
                               "gone"]}},
    {"type": "expect_table_columns_to_match_set",
     "kwargs": {"column_set": ["as_of_date", "id"], "exact_match": False}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "n", "mostly": 0.9}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "c", "mostly": 0.99}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "when"}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "x", "min_value": 0, "max_value": 10}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "x", "min_value": 0, "max_value": 10, "mostly": 0.95}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "n", "min_value": 1, "strict_min": True, "mostly": 0.5}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "n", "max_value": 7, "strict_max": True}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "dec", "min_value": 2.5, "max_value": 7.25}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "id", "min_value": 0}},
    {"type": "expect_column_values_to_be_between",  # no value at all: vacuously true
     "kwargs": {"column": "gone", "min_value": 0}},
    {"type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "c", "value_set": ["a", "b", "it's"]}},
    {"type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "c", "value_set": ["a", "b", "c", "it's", "zz"]}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "n", "value_set": [1, 2, 3]}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "c", "value_set": []}},
    {"type": "expect_column_values_to_not_be_in_set",
     "kwargs": {"column": "c", "value_set": ["zz"], "mostly": 0.5}},
    {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["id", "as_of_date"]}},
    {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["id", "n"]}},
    {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["c", "x"]}},
    {"type": "expect_column_values_to_be_in_type_list",
     "kwargs": {"column": "n", "type_list": ["int32", "int64"]}},
    {"type": "expect_column_values_to_be_in_type_list",
     "kwargs": {"column": "n", "type_list": ["Int32", "Int32Dtype"]}},
    {"type": "expect_column_values_to_be_in_type_list",
     "kwargs": {"column": "id", "type_list": ["int32"]}},
    {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "x", "type_": "float64"}},
    # Three columns of one dtype and the same kwargs: GX checks one, the others share its result.
    {"type": "expect_column_values_to_be_in_type_list",
     "kwargs": {"column": "x", "type_list": ["float64", "int64"]}},
    {"type": "expect_column_values_to_be_in_type_list",
     "kwargs": {"column": "dec", "type_list": ["float64", "int64"]}, "meta": {"severity": "warn"}},
    {"type": "expect_column_values_to_be_in_type_list",
     "kwargs": {"column": "gone", "type_list": ["float64", "int64"]}},
    {"type": "expect_column_values_to_be_in_type_list",
     "kwargs": {"column": "id", "type_list": ["float64", "int64"]}},
    # Left to GX over the rows: a boolean column, a date column, a row condition, a missing column.
    {"type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "flag", "value_set": [True]}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "when", "max_value": "2024-06-01 00:00:00"}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "x", "min_value": 0, "row_condition": "n>2", "condition_parser": "pandas"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "absent"}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
]
# Counted in SQL: the 20 after the two column-set ones; then 8 dtype checks, checked by GX on a
# probe of a few rows; the rest left to GX over the rows.
COMPILED, DTYPES = 20, 8


def dirty(rows: int = 400) -> pd.DataFrame:
    """Rows with every kind of fault: nulls, NaN, inf, repeated keys, unknown categories."""
    rng = np.random.default_rng(11)
    x = rng.normal(5, 3, rows)
    x[rng.choice(rows, 12, replace=False)] = np.nan
    x[rng.choice(rows, 2, replace=False)] = np.inf
    n = pd.array(rng.integers(0, 9, rows), dtype="Int32")
    n[rng.choice(rows, 20, replace=False)] = pd.NA
    c = rng.choice(["a", "b", "c", "it's", "zz"], rows, p=[0.4, 0.3, 0.26, 0.02, 0.02]).astype(object)
    c[rng.choice(rows, 3, replace=False)] = None
    ids = np.arange(rows) % (rows - 3)  # three repeated ids
    return pd.DataFrame({
        "as_of_date": pd.to_datetime(np.where(np.arange(rows) % 2, "2024-01-01", "2024-02-01")),
        "id": ids, "x": x, "n": n, "c": c, "dec": np.round(rng.uniform(2, 8, rows), 2),
        "flag": rng.random(rows) < 0.9,
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, rows), "D"),
    })


@pytest.fixture(scope="module")
def mart(tmp_path_factory):
    path = tmp_path_factory.mktemp("suite") / "mart.json"
    path.write_text(json.dumps({"name": "mart", "expectations": EXPECTATIONS}))
    con = duckdb.connect()
    con.register("frame", dirty())
    con.execute("create table mart as select * replace (as_of_date::date as as_of_date, "
                "id::integer as id, dec::decimal(6, 2) as dec), null::double as gone from frame")
    # DuckDB reads pandas' NaN as null: NaN itself (missing to pandas, a number to SQL) is set here.
    con.execute("update mart set x = 'nan'::double where id % 37 = 5")
    return validation.load_suite(path), con.table("mart")


def unexpected(text):
    values = [] if pd.isna(text) else json.loads(text)
    return sorted(values, key=json.dumps)


def test_counts_in_sql_agree_with_gx_on_the_whole_frame(mart):
    suite, relation = mart
    mine = validation.validate_chunked(relation, suite, "as_of_date")
    mine = mine[mine.partition.isna()].reset_index(drop=True)
    table_level = [e for e in EXPECTATIONS if e["type"] not in validation.PARTITION_LEVEL]
    gx = validation.validate(relation.df(), suite)
    gx = gx[gx.expectation.isin({e["type"] for e in table_level})
            & (gx.expectation != "expect_table_row_count_to_be_between")].reset_index(drop=True)
    assert_agree(mine, gx)
    # Not a vacuous comparison: most compiled expectations fail on this data, some pass.
    assert 8 <= (~mine.success).sum() < len(mine) - 3


def test_a_table_without_partitions_is_validated_the_same_way(mart):
    suite, relation = mart
    assert_agree(validation.validate_table(relation, suite), validation.validate(relation.df(), suite))


def assert_agree(mine: pd.DataFrame, gx: pd.DataFrame) -> None:
    """Assert two result tables agree row by row (unexpected values as sets, see below)."""
    assert mine.kwargs.tolist() == gx.kwargs.tolist()
    for a, b in zip(mine.itertuples(), gx.itertuples(), strict=True):
        where = f"{a.expectation} {a.kwargs}"
        assert a.success == b.success, where
        assert (a.observed_value == b.observed_value) or (pd.isna(a.observed_value)
                                                         and pd.isna(b.observed_value)), where
        assert (a.rows, a.severity, a.column) == (b.rows, b.severity, b.column), where
        assert (pd.isna(a.unexpected_count) and pd.isna(b.unexpected_count)) or \
            a.unexpected_count == b.unexpected_count, where
        assert (pd.isna(a.unexpected_percent) and pd.isna(b.unexpected_percent)) or \
            abs(a.unexpected_percent - b.unexpected_percent) < 1e-9, where
        if pd.isna(b.unexpected_count) or b.unexpected_count <= row_checks.SAMPLE:
            # The same values (GX lists them in frame order, SQL in its own).
            assert unexpected(a.unexpected_values) == unexpected(b.unexpected_values), where
        else:
            assert len(unexpected(a.unexpected_values)) == row_checks.SAMPLE, where


def test_only_exact_forms_are_counted_in_sql(mart):
    relation = table(mart[1])
    types = dict(zip(relation.columns, relation.types, strict=True))
    compiled = [row_checks.compile_check(i, e, types, relation.quote) is not None
                for i, e in enumerate(EXPECTATIONS)]
    assert compiled == [False] * 2 + [True] * COMPILED + [False] * (len(EXPECTATIONS) - 2 - COMPILED)


@pytest.mark.parametrize("kwargs", [
    {"column": "x", "min_value": "1"},                       # a text bound
    {"column": "x", "min_value": 1, "strict_min": "yes"},    # a flag that is not a bool
    {"column": "x", "min_value": 1, "mostly": 2},            # mostly outside [0, 1]
    {"column": "x"},                                         # no bound at all (GX says so)
    {"column": "x", "min_value": 1, "parse_strings_as_datetimes": True},
])
def test_unusual_between_kwargs_are_left_to_gx(kwargs):
    check = row_checks.compile_check(
        0, {"type": "expect_column_values_to_be_between", "kwargs": kwargs}, {"x": "DOUBLE"},
        lambda name: f'"{name}"')
    assert check is None


def test_a_gate_reads_no_rows_into_pandas_when_every_check_is_counted_in_sql(mart, monkeypatch):
    suite, relation = mart
    compiled = validation.replace(suite, expectations=suite.expectations[:2 + COMPILED + DTYPES])
    read = []
    original = type(table(relation)).df

    def counting_df(self):
        frame = original(self)
        read.append(len(frame))
        return frame

    monkeypatch.setattr(type(table(relation)), "df", counting_df)
    results = validation.validate_chunked(relation, compiled, "as_of_date")
    assert len(results) == 2 + COMPILED + DTYPES
    # Only the dtype probe (a row per column holding a null) and the unexpected values.
    assert max(read) <= len(relation.columns)
