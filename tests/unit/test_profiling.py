import datetime as dt
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmodels.quality import profiling

# Before great_expectations is imported anywhere: no usage statistics from tests.
from mlmodels.spec import specs

os.environ["GX_ANALYTICS_ENABLED"] = "False"

TOY = {
    "name": "toy",
    "target": "label",
    "entity_key": "entity_id",
    "features": {"numeric": ["x1", "x2"], "categorical": ["colour"]},
}


def _float_columns(result: pd.DataFrame) -> pd.DataFrame:
    return result.select_dtypes("number")


# ------------------------------------------------------------------------------- profile


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame({
        "amount": [1.0, 2.5, np.nan, 4.0, 10.0, 2.5, -3.0, 7.25],
        "visits": [3, 1, 4, 1, 5, 9, 2, 6],
        "plan": ["basic", "pro", "basic", None, "basic", "team", "pro", "basic"],
        "active": [True, False, True, True, True, False, True, True],
        "signup": pd.date_range("2024-01-01", periods=8, freq="D"),
    })


def test_profile_numbers_equal_pandas_and_numpy(small):
    result = profiling.profile(small)
    assert list(result.columns) == profiling.PROFILE_COLUMNS
    assert result["column"].tolist() == list(small.columns)
    row = result.set_index("column").loc["amount"]
    values = small["amount"].dropna().to_numpy()
    assert row["dtype"] == "float64"
    assert row["rows"] == 8
    assert row["null_share"] == pytest.approx(1 / 8)
    assert row["distinct"] == small["amount"].nunique()
    assert row["min"] == values.min() and row["max"] == values.max()
    assert row["mean"] == pytest.approx(small["amount"].mean())
    assert row["std"] == pytest.approx(small["amount"].std())
    assert row["skew"] == pytest.approx(small["amount"].skew())
    for name, q in profiling.QUANTILES.items():
        assert row[name] == pytest.approx(np.percentile(values, q))
    visits = result.set_index("column").loc["visits"]
    assert visits["mean"] == pytest.approx(small["visits"].mean())
    assert visits["p50"] == pytest.approx(small["visits"].median())


def test_profile_categories_nulls_and_dates(small):
    result = profiling.profile(small).set_index("column")
    plan = result.loc["plan"]
    assert plan["null_share"] == pytest.approx(1 / 8)
    assert plan["distinct"] == 3
    assert math.isnan(plan["mean"])
    top = json.loads(plan["top_categories"])
    assert top[0] == {"value": "basic", "share": 0.5}
    assert {t["value"] for t in top} == {"basic", "pro", "team"}
    active = result.loc["active"]  # bool is not numeric
    assert math.isnan(active["mean"])
    assert json.loads(active["top_categories"])[0] == {"value": True, "share": 0.75}
    assert result.loc["signup", "note"] == "min 2024-01-01T00:00:00, max 2024-01-08T00:00:00"


def test_profile_keeps_top_five_categories_and_handles_python_dates():
    frame = pd.DataFrame({
        "c": list("aaaaabbbbcccdde f"),
        "d": [dt.date(2024, 1, 1 + i % 3) for i in range(17)],
    })
    result = profiling.profile(frame).set_index("column")
    top = json.loads(result.loc["c", "top_categories"])
    assert len(top) == profiling.TOP_CATEGORIES
    assert [t["value"] for t in top[:3]] == ["a", "b", "c"]
    assert result.loc["c", "distinct"] == 7
    assert result.loc["d", "note"] == "min 2024-01-01, max 2024-01-03"


def test_profile_class_balance_and_imbalance_warning():
    balanced = pd.DataFrame({"y": [0, 1] * 50})
    row = profiling.profile(balanced, label="y").iloc[-1]
    assert row["column"] == "y" and row["note"] == "class balance"
    assert json.loads(row["top_categories"]) == [
        {"value": 0, "share": 0.5}, {"value": 1, "share": 0.5}]

    skewed = pd.DataFrame({"y": [1] * 32 + [0] * 968})
    row = profiling.profile(skewed, label="y").iloc[-1]
    assert row["note"] == "class balance; imbalance warning: minority class 3.2%"
    assert row["mean"] == pytest.approx(0.032)

    regression = pd.DataFrame({"y": np.linspace(0, 1, 50)})
    row = profiling.profile(regression, label="y").iloc[-1]
    assert row["note"] == "target distribution"
    assert row["mean"] == pytest.approx(0.5)
    assert pd.isna(row["top_categories"])


def test_profile_counts_duplicates_on_key_and_exact_duplicates():
    frame = pd.DataFrame({
        "entity_id": [1, 1, 2, 3, 3, 3, 4],
        "as_of": ["a", "a", "a", "a", "a", "b", "a"],
        "x": [1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })
    result = profiling.profile(frame, key=["entity_id", "as_of"])
    rows = result[result["column"] == profiling.ROWS_COLUMN].iloc[0]
    # Keys (1, a) and (3, a) occur twice: 4 rows; only (1, a, 1.0) is an exact repeat: 2 rows.
    assert rows["note"] == (
        "duplicate rows on ['entity_id', 'as_of']: 4; exact duplicate rows: 2")
    assert rows["distinct"] == 5
    assert rows["rows"] == 7


def test_profile_rejects_unknown_label_or_key(small):
    with pytest.raises(ValueError, match="no column 'nope'"):
        profiling.profile(small, label="nope")
    with pytest.raises(ValueError, match="no column 'nope'"):
        profiling.profile(small, key=["plan", "nope"])


def test_profile_has_no_infinity_and_notes_infinite_values():
    frame = pd.DataFrame({
        "x": [1.0, np.inf, -np.inf, 2.0, np.nan],
        "huge": [1e308, 1e308, 1e308, 1e308, 1e308],
        "empty": [np.nan] * 5,
        "nullable": pd.array([1, None, 3, 3, 4], dtype="Int32"),
    })
    result = profiling.profile(frame, label=None, key=["x"])
    numbers = _float_columns(result).to_numpy(dtype=float)
    assert not np.isinf(numbers).any()
    x = result.set_index("column").loc["x"]
    assert x["max"] == 2.0 and x["mean"] == 1.5
    assert x["note"] == "infinite values: 2 (left out of the statistics)"
    nullable = result.set_index("column").loc["nullable"]
    assert nullable["null_share"] == pytest.approx(0.2)
    assert nullable["mean"] == pytest.approx(2.75)


def test_profile_of_an_empty_frame():
    result = profiling.profile(pd.DataFrame({"x": pd.Series([], dtype=float), "s": []}))
    assert result["rows"].tolist() == [0, 0]
    assert result["distinct"].tolist() == [0, 0]


def test_profile_of_a_million_rows_is_fast():
    rng = np.random.default_rng(0)
    n = 1_000_000
    frame = pd.DataFrame({
        "entity_id": np.arange(n),
        "as_of_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
        **{f"x{i}": rng.normal(size=n) for i in range(8)},
        "count": rng.integers(0, 100, n),
        "plan": rng.choice(["basic", "pro", "team", "enterprise"], n),
        "city": pd.Series(rng.integers(0, 50_000, n)).astype(str),
        "label": (rng.random(n) < 0.03).astype(int),
    })
    start = time.perf_counter()
    result = profiling.profile(frame, label="label", key=["entity_id", "as_of_date"])
    print(f"profiled {n:,} rows x {frame.shape[1]} columns in {time.perf_counter() - start:.2f} s")
    assert len(result) == frame.shape[1] + 2


# --------------------------------------------------------------------------- draft suite


@pytest.fixture
def train(rows) -> pd.DataFrame:
    return rows[rows["split"] == "train"].reset_index(drop=True)


@pytest.fixture
def toy(rows) -> specs.ModelSpec:
    return specs.from_dict(TOY).resolve(list(rows.columns))


def _by_type(suite: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for expectation in suite["expectations"]:
        found.setdefault(expectation["type"], []).append(expectation)
    return found


def _find(suite: dict, kind: str, column: str | None = None) -> list[dict]:
    return [e for e in _by_type(suite).get(kind, []) if e["kwargs"].get("column") == column]


def test_draft_suite_has_the_expected_expectations(toy, train):
    suite = profiling.draft_suite(toy, train, partition_column="as_of_date")
    assert suite["name"] == "ml_toy__training_set"
    assert suite["meta"]["partition_column"] == "as_of_date"
    assert suite["meta"]["drafted_from"] == "train split of ml_toy__training_set"
    assert "edit before relying on it" in suite["meta"]["notes"]
    kinds = set(_by_type(suite))
    assert kinds == {
        "expect_table_columns_to_match_set", "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_type_list", "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set", "expect_compound_columns_to_be_unique",
        "expect_table_row_count_to_be_between", "expect_column_mean_to_be_between",
        "expect_column_quantile_values_to_be_between",
    }
    for expectation in suite["expectations"]:
        assert expectation["meta"]["severity"] in {"error", "warn"}
    nulls = _by_type(suite)["expect_column_values_to_not_be_null"]
    not_null = {e["kwargs"]["column"] for e in nulls if "mostly" not in e["kwargs"]}
    # x2 has nulls in train: no not-null, but a bound on its null share (severity warn), at the
    # largest share of a training partition plus 5 points.
    assert not_null == {"entity_id", "as_of_date", "label", "x1", "colour"}
    (share,) = [e for e in nulls if "mostly" in e["kwargs"]]
    assert share["kwargs"]["column"] == "x2" and share["meta"]["severity"] == "warn"
    highest = train.x2.isna().groupby(train.as_of_date).mean().max()
    assert share["kwargs"]["mostly"] == pytest.approx(1 - highest - 0.05, abs=1e-4)
    columns = _by_type(suite)["expect_table_columns_to_match_set"][0]["kwargs"]
    assert columns == {"column_set": list(train.columns), "exact_match": False}
    unique = _by_type(suite)["expect_compound_columns_to_be_unique"][0]
    assert unique["kwargs"] == {"column_list": ["entity_id", "as_of_date"]}
    assert unique["meta"]["severity"] == "error"
    # colour is pandas 3's "str" dtype, which GX 1.24 cannot type-check: listed, not drafted.
    assert {"column": "colour", "expectation": "expect_column_values_to_be_in_type_list",
            "reason": "GX 1.x cannot match the pandas dtype str"} in suite["meta"]["not_drafted"]


def test_draft_suite_bounds_match_train(toy, train):
    suite = profiling.draft_suite(toy, train, partition_column="as_of_date")
    x1 = train["x1"]
    (band,) = _find(suite, "expect_column_values_to_be_between", "x1")
    spread = x1.max() - x1.min()
    assert band["meta"]["severity"] == "warn"
    assert band["kwargs"]["min_value"] == pytest.approx(x1.min() - 0.5 * spread, rel=1e-5)
    assert band["kwargs"]["max_value"] == pytest.approx(x1.max() + 0.5 * spread, rel=1e-5)
    assert band["kwargs"]["min_value"] <= x1.min() - 0.5 * spread

    (colours,) = _find(suite, "expect_column_values_to_be_in_set", "colour")
    assert colours["kwargs"]["value_set"] == ["blue", "green", "red"]
    assert colours["meta"]["severity"] == "error"

    sizes = train.groupby("as_of_date").size()
    counts = _find(suite, "expect_table_row_count_to_be_between")
    floor = next(e for e in counts if e["meta"]["severity"] == "error")["kwargs"]
    ceiling = next(e for e in counts if e["meta"]["severity"] == "warn")["kwargs"]
    assert floor == {"min_value": sizes.min() // 2, "max_value": None}
    assert ceiling == {"min_value": None, "max_value": 3 * sizes.max()}

    rate = train["label"].mean()
    (positive,) = _find(suite, "expect_column_mean_to_be_between", "label")
    assert positive["meta"]["severity"] == "error"
    assert positive["kwargs"]["min_value"] == pytest.approx(0.25 * rate, rel=1e-5)
    assert positive["kwargs"]["max_value"] == pytest.approx(min(2.5 * rate, 1.0), rel=1e-5)

    means = train.groupby("as_of_date")["x1"].mean()
    (mean,) = _find(suite, "expect_column_mean_to_be_between", "x1")
    assert mean["meta"]["severity"] == "warn"
    low = min(x1.mean() - 3 * means.std(), means.min())
    high = max(x1.mean() + 3 * means.std(), means.max())
    assert mean["kwargs"]["min_value"] == pytest.approx(low, rel=1e-5)
    assert mean["kwargs"]["max_value"] == pytest.approx(high, rel=1e-5)
    (median,) = _find(suite, "expect_column_quantile_values_to_be_between", "x1")
    assert median["kwargs"]["quantile_ranges"]["quantiles"] == [0.5]
    lower, upper = median["kwargs"]["quantile_ranges"]["value_ranges"][0]
    assert lower < x1.median() < upper


def test_draft_suite_keeps_a_hard_zero_floor_and_rounds_to_six_digits(toy, train):
    train = train.assign(x1=train["x1"].abs() + 10)
    suite = profiling.draft_suite(toy, train, partition_column="as_of_date")
    bands = _find(suite, "expect_column_values_to_be_between", "x1")
    hard = next(e for e in bands if e["meta"]["severity"] == "error")
    soft = next(e for e in bands if e["meta"]["severity"] == "warn")
    assert hard["kwargs"] == {"column": "x1", "min_value": 0, "max_value": None}
    assert soft["kwargs"]["min_value"] >= 0
    floats = [v for e in suite["expectations"] for v in e["kwargs"].values()
              if isinstance(v, float)]
    assert floats and all(float(f"{v:.6g}") == v for v in floats)


def test_draft_suite_without_label_or_partitions(toy, train):
    suite = profiling.draft_suite(toy, train.drop(columns=["label"]), label=False)
    assert suite["meta"]["partition_column"] is None
    assert not _find(suite, "expect_column_mean_to_be_between", "label")
    assert not _find(suite, "expect_column_values_to_not_be_null", "label")
    counts = _find(suite, "expect_table_row_count_to_be_between")
    assert {e["kwargs"]["min_value"] for e in counts} == {len(train) // 2, None}
    snapshot = specs.from_dict({**TOY, "as_of": None}).resolve(list(train.columns))
    suite = profiling.draft_suite(snapshot, train.drop_duplicates("entity_id"))
    assert _find(suite, "expect_column_values_to_be_unique", "entity_id")
    assert "expect_compound_columns_to_be_unique" not in _by_type(suite)


def test_draft_suite_is_json_serialisable(toy, train):
    suite = profiling.draft_suite(toy, train, partition_column="as_of_date")
    assert json.loads(json.dumps(suite, allow_nan=False)) == suite


# ------------------------------------------------------- the drafted suite validates in GX


@pytest.fixture(scope="module")
def gx_batches():
    gx = pytest.importorskip("great_expectations")
    context = gx.get_context(mode="ephemeral")
    definition = (context.data_sources.add_pandas("profiling_test")
                  .add_dataframe_asset("frame")
                  .add_batch_definition_whole_dataframe("whole"))

    def validate(frame: pd.DataFrame, suite: dict):
        expectations = [
            getattr(gx.expectations, _class_name(e["type"]))(**e["kwargs"], meta=e["meta"])
            for e in suite["expectations"]
        ]
        gx_suite = gx.ExpectationSuite(name=suite["name"], expectations=expectations,
                                       meta=suite["meta"])
        batch = definition.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(gx_suite)

    return validate


def _class_name(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("_"))


def _failures(result) -> list:
    return [(r.expectation_config.type, r.expectation_config.kwargs.get("column"),
             r.result.get("observed_value"), r.exception_info.get("exception_message"))
            for r in result.results if not r.success]


def test_drafted_suite_validates_every_train_partition_in_gx(toy, train, gx_batches):
    suite = profiling.draft_suite(toy, train, partition_column="as_of_date")
    for partition, rows in train.groupby("as_of_date"):
        result = gx_batches(rows, suite)
        assert result.success, (partition, _failures(result))
        assert len(result.results) == len(suite["expectations"])


def test_drafted_suite_validates_many_dtypes_in_gx(gx_batches):
    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame({
        "entity_id": np.tile(np.arange(100, dtype="int32"), 6),
        "as_of_date": np.repeat(pd.date_range("2024-01-01", periods=6, freq="MS"), 100),
        "orders": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 20, n)),
                           dtype="Int32"),
        "amount": rng.exponential(100, n),
        "flag": rng.random(n) < 0.5,
        "constant": np.full(n, 3.0),
        "zeros": np.zeros(n),
        "plan_object": pd.Series(rng.choice(["a", "b"], n), dtype=object),
        "plan_string": pd.Series(rng.choice(["a", "b"], n), dtype=pd.StringDtype()),
        "plan_category": pd.Series(rng.choice(["a", "b"], n), dtype="category"),
        "region": rng.integers(1, 4, n),
        "label": rng.random(n) < 0.2,
    })
    spec = specs.from_dict({
        "name": "wide", "target": "label", "entity_key": "entity_id",
        "features": {"numeric": ["orders", "amount", "flag", "constant", "zeros"],
                     "categorical": ["plan_object", "plan_string", "plan_category", "region"]},
    }).resolve(list(frame.columns))
    suite = profiling.draft_suite(spec, frame, partition_column="as_of_date")
    typed = {e["kwargs"]["column"] for e in _by_type(suite)[
        "expect_column_values_to_be_in_type_list"]}
    assert {"entity_id", "as_of_date", "orders", "amount", "flag", "plan_object",
            "plan_string", "region", "label"} <= typed
    for partition, rows in frame.groupby("as_of_date"):
        result = gx_batches(rows, suite)
        assert result.success, (partition, _failures(result))
    # One partition (no partition column): the whole frame is the batch.
    suite = profiling.draft_suite(spec, frame)
    result = gx_batches(frame, suite)
    assert result.success, _failures(result)


def test_drafted_suite_catches_broken_data_in_gx(toy, train, gx_batches):
    suite = profiling.draft_suite(toy, train, partition_column="as_of_date")
    rows = train[train["as_of_date"] == train["as_of_date"].min()].copy()
    rows.loc[rows.index[:5], "colour"] = "purple"
    rows.loc[rows.index[5], "x1"] = -1e6
    failed = {(kind, column) for kind, column, *_ in _failures(gx_batches(rows, suite))}
    assert ("expect_column_values_to_be_in_set", "colour") in failed
    assert ("expect_column_values_to_be_between", "x1") in failed


def test_draft_suite_does_not_cry_wolf_on_growing_or_integer_features(toy, train):
    """Alarms that mean something: no upper bound on a feature that grows by construction (a
    later partition always breaks it), and no zero-width band around an integer median."""
    order = train["as_of_date"].rank(method="dense")
    rng = np.random.default_rng(3)
    grown = train.assign(x1=order * 30 + rng.integers(0, 5, len(train)),  # tenure-like
                         x2=rng.integers(2, 5, len(train)).astype(float))  # a small count
    suite = profiling.draft_suite(toy, grown, partition_column="as_of_date")
    bounds = [e for e in _find(suite, "expect_column_values_to_be_between", "x1")
              if e["meta"]["severity"] == "warn"]
    assert bounds and bounds[0]["kwargs"]["max_value"] is None
    assert any(n["column"] == "x1" for n in suite["meta"]["not_drafted"])
    median = _find(suite, "expect_column_quantile_values_to_be_between", "x2")[0]
    low, high = median["kwargs"]["quantile_ranges"]["value_ranges"][0]
    assert high - low >= 2


def test_a_null_flood_fails_the_drafted_null_share_bound(toy, train):
    from mlmodels.quality import validation

    suite = profiling.draft_suite(toy, train, partition_column="as_of_date")
    path = Path(tempfile.mkdtemp()) / "suite.json"
    path.write_text(json.dumps(suite))
    loaded = validation.load_suite(path)
    flooded = train.copy()
    flooded.loc[flooded.index % 5 < 2, "x2"] = np.nan  # 40% nulls where train had about 5%

    def x2_share(frame):
        results = validation.validate(frame, loaded)
        rows = results[(results.expectation == "expect_column_values_to_not_be_null")
                       & (results.column == "x2")]
        return bool(rows.success.all())

    assert x2_share(train) and not x2_share(flooded)


def test_the_soft_range_tolerates_a_few_record_values_but_not_a_corruption(toy, train):
    from mlmodels.quality import validation

    suite = profiling.draft_suite(toy, train, partition_column="as_of_date")
    path = Path(tempfile.mkdtemp()) / "suite.json"
    path.write_text(json.dumps(suite))
    loaded = validation.load_suite(path)
    high = float(train.x1.max()) * 100  # far above the soft range

    def x1_range_holds(frame):
        results = validation.validate(frame, loaded)
        rows = results[(results.expectation == "expect_column_values_to_be_between")
                       & (results.column == "x1") & (results.severity == "warn")]
        assert len(rows)
        return bool(rows.success.all())

    records, corrupted = train.copy(), train.copy()
    records.loc[records.index[:1], "x1"] = high  # one record customer in the whole frame
    corrupted.loc[corrupted.index % 50 == 0, "x1"] = high  # 2% of rows: a unit change
    assert x1_range_holds(train) and x1_range_holds(records) and not x1_range_holds(corrupted)


@pytest.mark.parametrize("seed", range(4))
def test_duplicate_counts_equal_pandas_duplicated(seed):
    """The one grouping of the key gives what three calls of ``duplicated`` gave."""
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(0, 60))
    frame = pd.DataFrame({
        "entity_id": rng.choice([1.0, 2.0, 3.0, np.nan], rows),
        "as_of": rng.choice(["a", "b", None], rows),
        "x": rng.choice([1.0, 2.0, np.nan], rows),
    })
    key = ["entity_id", "as_of"]
    row = profiling.profile(frame, key=key).iloc[-1]
    expected_note = (f"duplicate rows on {key}: {int(frame.duplicated(key, keep=False).sum())}; "
                     f"exact duplicate rows: {int(frame.duplicated(keep=False).sum())}")
    assert row["note"] == expected_note
    assert row["distinct"] == rows - int(frame.duplicated(key, keep="first").sum())


@pytest.mark.parametrize("seed", range(3))
def test_percentiles_of_the_sorted_values_equal_numpys_bit_for_bit(seed):
    """The profile reads its quantiles off one sort: the same doubles np.percentile gives."""
    rng = np.random.default_rng(seed)
    percents = list(profiling.QUANTILES.values())
    for rows in [1, 2, 3, 7, 100, 1001]:
        for values in [rng.normal(0, 1, rows), rng.integers(-3, 3, rows).astype(float),
                       rng.lognormal(0, 6, rows) * 1e12,
                       rng.uniform(-1, 1, rows) * rng.choice([1e-300, 1.0, 1e300], rows)]:
            expected = np.percentile(values, percents)
            got = profiling.sorted_percentiles(np.sort(values), percents)
            assert np.array_equal(got, expected), (rows, got - expected)


@pytest.mark.parametrize("series", [
    pd.Series([1, 2, 2, None, 5], dtype="Int64"),
    pd.Series([0.0, -0.0, np.inf, np.inf, -np.inf, np.nan, 1.0, 1.0]),
    pd.Series([2**53, 2**53 + 1, 2**53 + 1]),  # one float64, two integers
    pd.Series([np.nan, np.nan]),
    pd.Series([], dtype="float64"),
    pd.Series([3, 1, 3], dtype="UInt8"),
    pd.Series([1.5, 2.5, 1.5], dtype="float32"),
], ids=["nullable", "floats", "big-ints", "all-nan", "empty", "uint8", "float32"])
def test_the_distinct_count_of_a_number_column_equals_nunique(series):
    row = profiling.profile(pd.DataFrame({"x": series})).iloc[0]
    assert row["distinct"] == series.nunique()
