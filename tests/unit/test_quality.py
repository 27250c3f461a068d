import json
import logging
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

from mlmodels.quality import validation

EXPECTATIONS = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_id"}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "tenure_days", "min_value": 0, "max_value": 10_000}},
    {"type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "segment", "value_set": ["retail", "sme", "corporate"]}},
    {"type": "expect_column_values_to_not_be_in_set",
     "kwargs": {"column": "segment", "value_set": ["test"]}},
    {"type": "expect_column_values_to_match_regex",
     "kwargs": {"column": "region", "regex": "^[A-Z]{2}[0-9]$"}},
    {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "score", "type_": "float64"}},
    {"type": "expect_column_values_to_be_in_type_list",
     "kwargs": {"column": "tenure_days", "type_list": ["int32", "int64"]}},
    {"type": "expect_compound_columns_to_be_unique",
     "kwargs": {"column_list": ["customer_id", "as_of_date"]}},
    {"type": "expect_column_mean_to_be_between",
     "kwargs": {"column": "label", "min_value": 0.1, "max_value": 0.5}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "as_of_date", "min_value": "2020-01-01 00:00:00"}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 10}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "score", "min_value": 0, "max_value": 1}, "meta": {"severity": "warn"}},
]
DATES = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])


def write_suite(directory, expectations=EXPECTATIONS, **extra):
    path = directory / "mart.json"
    document = {"name": "mart", "meta": {"partition_column": "as_of_date"},
                "expectations": expectations, **extra}
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> validation.Suite:
    return validation.load_suite(write_suite(tmp_path_factory.mktemp("suite"), id="abc", notes=None))


def mart(dates=DATES[:1], per_date: int = 40) -> pd.DataFrame:
    """A clean mart: per_date customers at each as_of date, a 25% label rate."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        [(f"c{i:04d}", date) for date in dates for i in range(per_date)],
        columns=["customer_id", "as_of_date"],
    )
    n = len(frame)
    frame["tenure_days"] = rng.integers(0, 3000, n)
    frame["segment"] = rng.choice(["retail", "sme", "corporate"], n)
    frame["region"] = rng.choice(["NL1", "BE2", "DE3"], n)
    frame["score"] = rng.random(n)
    frame["label"] = (np.arange(n) % 4 == 0).astype(int)
    return frame


def failures(results: pd.DataFrame) -> set[tuple[str, str | None]]:
    bad = results[~results.success]
    return {(row.expectation, None if pd.isna(row.column) else row.column)
            for row in bad.itertuples()}


def test_clean_frame_passes_every_expectation(suite, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    results = validation.validate(mart(), suite, partition="2024-01-01")
    assert list(results.columns) == validation.RESULT_COLUMNS
    assert results.success.all(), results[~results.success]
    assert results.expectation.tolist() == [e["type"] for e in EXPECTATIONS]
    assert results.column.tolist()[:2] == ["customer_id", "tenure_days"]
    assert results.column[7] == "customer_id,as_of_date"
    assert pd.isna(results.column[10])
    assert (results.partition == "2024-01-01").all() and (results.rows == 40).all()
    assert results.severity.tolist() == ["error"] * 11 + ["warn"]
    assert json.loads(results.kwargs[1]) == {"column": "tenure_days", "max_value": 10000,
                                             "min_value": 0}
    assert json.loads(results.observed_value[8]) == 0.25
    assert results.run_at[0].tzinfo is None
    assert validation.summary(results) == ""
    # Quiet: no progress bars on stderr, no GX records in the caller's log.
    assert capsys.readouterr().err == ""
    assert not [r for r in caplog.records if r.name.startswith("great_expectations")]


def _null_key(frame):
    frame.loc[3, "customer_id"] = None


def _out_of_range(frame):
    frame.loc[3, "tenure_days"] = -5


def _unseen_category(frame):
    frame.loc[3, "segment"] = "private_banking"


def _banned_category(frame):
    frame.loc[3, "segment"] = "test"


def _bad_region(frame):
    frame.loc[3, "region"] = "nl1"


def _float_tenure(frame):
    frame["tenure_days"] = frame["tenure_days"].astype(float)


def _float32_score(frame):
    frame["score"] = frame["score"].astype("float32")


def _duplicate_entity_date(frame):
    frame.loc[3, "customer_id"] = frame.loc[4, "customer_id"]


def _label_rate(frame):
    frame["label"] = 1


def _old_date(frame):
    frame.loc[3, "as_of_date"] = pd.Timestamp("2019-12-31")


NOT_IN_SET = ("expect_column_values_to_not_be_in_set", "segment")
IN_SET = ("expect_column_values_to_be_in_set", "segment")


@pytest.mark.parametrize(("corrupt", "expected"), [
    (_null_key, {("expect_column_values_to_not_be_null", "customer_id")}),
    (_out_of_range, {("expect_column_values_to_be_between", "tenure_days")}),
    (_unseen_category, {IN_SET}),
    (_banned_category, {NOT_IN_SET, IN_SET}),
    (_bad_region, {("expect_column_values_to_match_regex", "region")}),
    (_float_tenure, {("expect_column_values_to_be_in_type_list", "tenure_days")}),
    (_float32_score, {("expect_column_values_to_be_of_type", "score")}),
    (_duplicate_entity_date, {("expect_compound_columns_to_be_unique", "customer_id,as_of_date")}),
    (_label_rate, {("expect_column_mean_to_be_between", "label")}),
    (_old_date, {("expect_column_values_to_be_between", "as_of_date")}),
])
def test_each_corruption_fails_the_right_expectation(suite, corrupt, expected):
    frame = mart()
    corrupt(frame)
    results = validation.validate(frame, suite)
    assert failures(results) == expected


def test_failure_details_and_summary(suite):
    frame = mart()
    frame.loc[3, "customer_id"] = None
    results = validation.validate(frame, suite, partition="2024-01-01")
    row = validation.failed(results).iloc[0]
    assert (row.unexpected_count, row.unexpected_percent) == (1, 2.5)
    assert json.loads(row.unexpected_values) == [None]
    assert validation.summary(results) == (
        "suite mart: expect_column_values_to_not_be_null on customer_id failed in partition "
        "2024-01-01 (1 unexpected, 2.5%)"
    )


def test_missing_column_is_a_failed_row_naming_it(suite):
    results = validation.validate(mart().drop(columns=["score"]), suite)
    assert failures(results) == {
        ("expect_column_values_to_be_of_type", "score"),
        ("expect_column_values_to_be_between", "score"),
    }
    for observed in results[~results.success].observed_value:
        assert "score" in json.loads(observed)


def test_warn_severity_is_reported_as_warn(suite):
    frame = mart()
    frame.loc[3, "score"] = 1.5
    results = validation.validate(frame, suite)
    assert validation.failed(results).empty
    warned = validation.failed(results, "warn")
    assert warned[["expectation", "column", "severity"]].values.tolist() == [
        ["expect_column_values_to_be_between", "score", "warn"]
    ]
    assert validation.summary(results).endswith("(1 unexpected, 2.5%) [warn]")


def test_empty_frame_fails_row_count(suite):
    results = validation.validate(mart().iloc[:0], suite)
    assert ("expect_table_row_count_to_be_between", None) in failures(results)
    assert (results.rows == 0).all()


@pytest.mark.parametrize(("expectations", "message"), [
    ([{"type": "expect_column_values_to_not_be_nul", "kwargs": {"column": "x"}}],
     (r"expectation 0 \(expect_column_values_to_not_be_nul\).*did you mean "
      r"'expect_column_values_to_not_be_null'")),
    ([], "empty suite"),
    ([{"type": "expect_column_values_to_be_between", "kwargs": {"column": "x"}}],
     "expectation 0 .*kwargs refused.*min_value and max_value cannot both be None"),
    ([{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x", "colour": 1}}],
     "colour"),
    ([EXPECTATIONS[0], {**EXPECTATIONS[0], "meta": {"severity": "fatal"}}],
     "expectation 1 .*severity 'fatal'"),
])
def test_load_suite_rejects_bad_suites(tmp_path, expectations, message):
    path = write_suite(tmp_path, expectations)
    with pytest.raises(validation.SuiteError, match=message) as error:
        validation.load_suite(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON mapping"),
    ('{"expectations": [{"type": "expect_table_row_count_to_be_between"}]}', "no name"),
])
def test_load_suite_rejects_bad_files(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(validation.SuiteError, match=message):
        validation.load_suite(path)


def test_load_suite_keeps_meta(suite):
    assert suite.name == "mart" and suite.meta == {"partition_column": "as_of_date"}
    assert suite.expectations[11]["meta"] == {"severity": "warn"}
    assert suite.expectations[0]["meta"] == {}


def test_validate_chunked_combines_chunks_and_checks_every_partition(suite):
    con = duckdb.connect()
    frame = mart(DATES, per_date=20)
    frame["is_label_mature"] = frame.as_of_date < DATES[2]
    frame.loc[25, "customer_id"] = None  # in the 2024-02-01 partition
    con.register("frame", frame)
    con.execute("create table feat as select * replace (as_of_date::date as as_of_date) "
                "from frame")
    results = validation.validate_chunked(
        con.table("feat"), suite, "as_of_date",
        expected=["2024-01-01", pd.Timestamp("2024-03-01")], row_filter="is_label_mature",
        chunk_rows=25,  # one partition per chunk: the chunks' results are combined
    )
    per_partition = [e for e in EXPECTATIONS if e["type"] in validation.PARTITION_LEVEL]
    whole = results[results.partition.isna()]
    assert len(whole) == len(EXPECTATIONS) - len(per_partition)
    assert (whole.rows == 40).all()
    assert failures(whole) == {("expect_column_values_to_not_be_null", "customer_id")}
    assert whole.set_index("expectation").unexpected_count["expect_column_values_to_not_be_null"] == 1
    parts = results[results.partition.notna()]
    assert sorted(set(parts.partition)) == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert len(parts) == 3 * len(per_partition)
    assert ("expect_table_row_count_to_be_between", None) in failures(
        parts[parts.partition == "2024-03-01"])
    assert failures(parts[parts.partition != "2024-03-01"]) == set()


def test_quarantine_splits_rows_and_agrees_with_gx(suite):
    frame = mart(per_date=200)
    frame.index = frame.index + 1000  # the split keeps the caller's index
    frame.loc[1003, "customer_id"] = None
    frame.loc[[1004, 1005], "tenure_days"] = [-1, 10_001]
    frame.loc[1006, "tenure_days"] = 10_000  # bounds are inclusive
    frame.loc[[1007, 1008], "segment"] = ["private", "test"]  # "test" fails both set checks
    frame.loc[1009, "segment"] = None  # nulls are ignored by in_set
    frame.loc[[1010, 1011], "region"] = ["nl1", None]
    frame.loc[1012, ["customer_id", "region"]] = [None, "X"]
    clean, quarantined = validation.quarantine(frame, suite)
    assert len(clean) + len(quarantined) == len(frame)
    assert sorted(quarantined.index) == [1003, 1004, 1005, 1007, 1008, 1010, 1012]
    assert list(clean.columns) == list(frame.columns)
    reasons = quarantined.quarantine_reason
    assert reasons[1008] == ("expect_column_values_to_be_in_set(segment); "
                             "expect_column_values_to_not_be_in_set(segment)")
    assert reasons[1012] == ("expect_column_values_to_not_be_null(customer_id); "
                             "expect_column_values_to_match_regex(region)")

    results = validation.validate(frame, suite)
    for row in results[results.expectation.isin(validation.ROW_LEVEL)].itertuples():
        label = f"{row.expectation}({row.column})"
        quarantined_count = reasons.str.split("; ").apply(lambda parts, x=label: x in parts).sum()
        assert quarantined_count == row.unexpected_count, label


def test_import_does_not_load_great_expectations():
    code = "import sys, mlmodels.quality; assert 'great_expectations' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# Two gates start at once in a dbt build with two threads; the second must wait for the first
# one's import of great_expectations, not use the half-imported package.
CONCURRENT_IMPORT = """
import threading, time
from mlmodels.quality import validation
errors = []
def look_up():
    try:
        assert validation._expectation_class("expect_column_values_to_not_be_null") is not None
    except Exception as error:
        errors.append(repr(error))
threads = [threading.Thread(target=look_up) for _ in range(2)]
threads[0].start()
time.sleep(0.3)  # the first thread is inside the import (about 2 s) when the second starts
threads[1].start()
for thread in threads:
    thread.join()
assert not errors, errors
"""


def test_great_expectations_imported_from_two_threads_at_once():
    run = subprocess.run([sys.executable, "-c", CONCURRENT_IMPORT], capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stderr[-2000:]


def test_validating_writes_no_files(suite, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    validation.validate(mart(), suite)
    assert list(tmp_path.iterdir()) == []


def test_widened_numbers_give_gx_results_of_the_frame_as_read(tmp_path):
    """Narrow and nullable numbers are widened for speed; no result changes, dtypes still seen."""
    rng = np.random.default_rng(3)
    n = 500
    frame = pd.DataFrame({
        "small": rng.integers(-5, 120, n).astype(np.int32),
        "tiny": rng.integers(0, 9, n).astype(np.int8),
        "single": rng.normal(0, 2, n).astype(np.float32),
        "maybe": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 50, n)),
                          dtype="Int64"),
    })
    between = "expect_column_values_to_be_between"
    expectations = [
        {"type": between, "kwargs": {"column": "small", "min_value": 0, "max_value": 100}},
        {"type": between, "kwargs": {"column": "tiny", "min_value": 1, "strict_min": True}},
        {"type": between, "kwargs": {"column": "single", "max_value": 2.5, "mostly": 0.9}},
        {"type": between, "kwargs": {"column": "maybe", "min_value": 3, "max_value": 40}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "maybe"}},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "tiny", "value_set": [0, 1, 2, 3, 4, 5]}},
        {"type": "expect_column_values_to_be_in_type_list",
         "kwargs": {"column": "small", "type_list": ["int32"]}},
        {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "single",
                                                                  "type_": "float32"}},
        {"type": "expect_column_values_to_be_in_type_list",
         "kwargs": {"column": "maybe", "type_list": ["Int64"]}},
    ]
    path = tmp_path / "narrow.json"
    path.write_text(json.dumps({"name": "narrow", "expectations": expectations}))
    suite = validation.load_suite(path)
    results = validation.validate(frame, suite)
    # Every value check fails somewhere; the dtype checks see int32 and float32, not int64.
    assert results.success.tolist()[:8] == [False] * 6 + [True] * 2
    with validation._quiet():
        batch = validation._batch_definition().get_batch(batch_parameters={"dataframe": frame})
        as_read = batch.validate(validation._gx_suite("narrow", suite.expectations),
                                 result_format={"result_format": "SUMMARY"})
    by_index = {r.expectation_config.meta[validation._INDEX_KEY]: r for r in as_read.results}
    for index, row in enumerate(results.itertuples()):
        gx = by_index[index]
        assert row.success == gx.success, expectations[index]
        count = gx.result.get("unexpected_count")
        assert (pd.isna(row.unexpected_count) and count is None) or row.unexpected_count == count
        if "observed_value" in gx.result:
            assert json.loads(row.observed_value) == gx.result["observed_value"]
        if gx.result.get("partial_unexpected_list"):
            def plain(values):
                return [None if pd.isna(v) else float(v) for v in values]
            assert plain(json.loads(row.unexpected_values)) == plain(
                gx.result["partial_unexpected_list"][:validation.PARTIAL_UNEXPECTED])
