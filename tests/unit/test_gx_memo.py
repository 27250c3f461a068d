"""The memo of GX's answers: a rebuild skips GX, and never passes what GX would fail."""

import json
import pickle
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from mlmodels.quality import validation
from mlmodels.quality.gx_memo import GxMemo

# No regex, no row condition: everything but the suite's vetting and the type checks is SQL, so
# a rebuild with a memo needs nothing from GX.
EXPECTATIONS = [
    {"type": "expect_table_columns_to_match_set",
     "kwargs": {"column_set": ["customer_id", "as_of_date", "tenure_days", "segment", "score"]}},
    {"type": "expect_column_values_to_be_in_type_list",
     "kwargs": {"column": "tenure_days", "type_list": ["int32", "int64"]}},
    {"type": "expect_column_values_to_be_in_type_list",
     "kwargs": {"column": "score", "type_list": ["float64"]}},
    {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "score", "type_": "float64"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_id"}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "tenure_days", "min_value": 0, "max_value": 10_000}},
    {"type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "segment", "value_set": ["retail", "sme"]}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 5}},
]
MART = """
create or replace table mart as
select
    'c' || i as customer_id,
    date '2024-01-01' + interval (i % 2) month as as_of_date,
    {tenure} as tenure_days,
    case when i % 3 = 0 then 'sme' else 'retail' end as segment,
    i / 40.0 as score
from range(20) as t(i)
"""

GATE = """
import pickle, sys
import duckdb
from mlmodels.quality import validation
from mlmodels.quality.gx_memo import GxMemo

database, suite_path, memo_dir, out = sys.argv[1:]
memo = GxMemo.for_suite(memo_dir, suite_path)
suite = validation.load_suite(suite_path, memo)
con = duckdb.connect(database, read_only=True)
results = validation.validate_chunked(con.table("mart"), suite, "as_of_date", memo=memo)
memo.save()
pickle.dump(("great_expectations" in sys.modules, results), open(out, "wb"))
"""


def write_suite(directory, expectations=EXPECTATIONS):
    path = directory / "mart.json"
    path.write_text(json.dumps({"name": "mart", "meta": {"partition_column": "as_of_date"},
                                "expectations": expectations}))
    return path


def build_mart(database, tenure="i * 10"):
    with duckdb.connect(str(database)) as con:
        con.execute(MART.format(tenure=tenure))


def run_gate(tmp_path, name):
    script = tmp_path / "gate.py"
    script.write_text(GATE)
    out = tmp_path / f"{name}.pkl"
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "mart.duckdb"), str(tmp_path / "mart.json"),
         str(tmp_path / "memo"), str(out)],
        capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(out, "rb") as handle:
        return pickle.load(handle)


def test_a_rebuild_with_the_memo_gives_the_same_results_without_importing_gx(tmp_path):
    build_mart(tmp_path / "mart.duckdb")
    write_suite(tmp_path)
    first_imported, first = run_gate(tmp_path, "first")
    again_imported, again = run_gate(tmp_path, "again")
    assert first_imported and not again_imported
    assert first.success.all() and len(first) == len(EXPECTATIONS) + 1  # row count: 2 partitions
    pd.testing.assert_frame_equal(first.drop(columns="run_at"), again.drop(columns="run_at"))


def gate_in_process(tmp_path, memo):
    suite = validation.load_suite(tmp_path / "mart.json", memo)
    with duckdb.connect(str(tmp_path / "mart.duckdb"), read_only=True) as con:
        return validation.validate_chunked(con.table("mart"), suite, "as_of_date", memo=memo)


def failed(results):
    return sorted(results[~results.success].expectation + ":" + results[~results.success].column)


@pytest.mark.parametrize(("tenure", "expected"), [
    ("cast(i * 10 as varchar)", ["expect_column_values_to_be_in_type_list:tenure_days"]),
    ("i * 10.5", ["expect_column_values_to_be_in_type_list:tenure_days"]),
])
def test_a_memo_never_passes_a_type_check_whose_dtype_changed(tmp_path, tenure, expected):
    write_suite(tmp_path)
    build_mart(tmp_path / "mart.duckdb")
    memo = GxMemo.for_suite(tmp_path / "memo", tmp_path / "mart.json")
    assert gate_in_process(tmp_path, memo).success.all()
    memo.save()
    build_mart(tmp_path / "mart.duckdb", tenure)
    memo = GxMemo.for_suite(tmp_path / "memo", tmp_path / "mart.json")
    without_memo = gate_in_process(tmp_path, GxMemo(None))
    with_memo = gate_in_process(tmp_path, memo)
    assert [f for f in failed(with_memo) if "type" in f] == expected
    pd.testing.assert_frame_equal(with_memo.drop(columns="run_at"),
                                  without_memo.drop(columns="run_at"))


def test_a_memo_never_passes_a_column_set_that_changed(tmp_path):
    write_suite(tmp_path)
    build_mart(tmp_path / "mart.duckdb")
    memo = GxMemo.for_suite(tmp_path / "memo", tmp_path / "mart.json")
    gate_in_process(tmp_path, memo)
    memo.save()
    with duckdb.connect(str(tmp_path / "mart.duckdb")) as con:
        con.execute("alter table mart add column extra integer")
    results = gate_in_process(tmp_path, GxMemo.for_suite(tmp_path / "memo", tmp_path / "mart.json"))
    assert list(results[~results.success].expectation) == ["expect_table_columns_to_match_set"]


def test_an_edited_entry_goes_to_gx_again(tmp_path):
    path = write_suite(tmp_path)
    memo = GxMemo.for_suite(tmp_path / "memo", path)
    validation.load_suite(path, memo)
    memo.save()
    edited = [*EXPECTATIONS[:5],
              {"type": "expect_column_values_to_be_between", "kwargs": {"column": "tenure_days"}}]
    write_suite(tmp_path, edited)
    with pytest.raises(validation.SuiteError, match="min_value and max_value cannot both be None"):
        validation.load_suite(path, GxMemo.for_suite(tmp_path / "memo", path))


def test_a_memo_of_other_versions_or_unreadable_is_ignored(tmp_path):
    path = write_suite(tmp_path)
    memo = GxMemo.for_suite(tmp_path / "memo", path)
    validation.load_suite(path, memo)
    memo.save()
    stored = json.loads(memo.path.read_text())
    assert len(stored["vetted"]) == len(EXPECTATIONS)
    assert len(GxMemo.for_suite(tmp_path / "memo", path).vetted) == len(EXPECTATIONS)

    memo.path.write_text(json.dumps({**stored, "versions": {**stored["versions"],
                                                            "great_expectations": "0.18.0"}}))
    assert GxMemo.for_suite(tmp_path / "memo", path).vetted == set()
    for text in ["{not json", "[]", '{"versions": 1}']:
        memo.path.write_text(text)
        reread = GxMemo.for_suite(tmp_path / "memo", path)
        assert reread.vetted == set() and reread.schema == {}
    # A memo that keeps nothing writes nothing.
    GxMemo(None).save()
    assert [p.name for p in (tmp_path / "memo").iterdir()] == [memo.path.name]
    assert memo.path.name.startswith("mart-")  # the stem, then a digest of the suite's path


def test_nan_and_null_bounds_are_different_checks(tmp_path):
    """GX passes a column count with no lower bound, and fails one whose lower bound is NaN."""
    write_suite(tmp_path, [
        {"type": "expect_table_column_count_to_be_between",
         "kwargs": {"min_value": None, "max_value": 10}},
    ])
    build_mart(tmp_path / "mart.duckdb")
    memo = GxMemo.for_suite(tmp_path / "memo", tmp_path / "mart.json")
    assert gate_in_process(tmp_path, memo).success.all()
    memo.save()
    path = tmp_path / "mart.json"
    path.write_text(path.read_text().replace("null", "NaN"))
    asked = gate_in_process(tmp_path, GxMemo(None))
    remembered = gate_in_process(tmp_path, GxMemo.for_suite(tmp_path / "memo", path))
    assert not asked.success.any()
    pd.testing.assert_frame_equal(remembered.drop(columns="run_at"), asked.drop(columns="run_at"))


def test_a_stored_outcome_of_the_wrong_shape_is_not_read(tmp_path):
    write_suite(tmp_path)
    build_mart(tmp_path / "mart.duckdb")
    with duckdb.connect(str(tmp_path / "mart.duckdb")) as con:
        con.execute("alter table mart add column extra integer")
    memo = GxMemo.for_suite(tmp_path / "memo", tmp_path / "mart.json")
    asked = gate_in_process(tmp_path, memo)
    memo.save()
    assert list(asked[~asked.success].expectation) == ["expect_table_columns_to_match_set"]
    stored = json.loads(memo.path.read_text())
    for outcome in stored["schema"].values():
        # A string success, and fields that are the run's own: neither may change a result.
        outcome.update(success="false", severity="warn", column="a")
    memo.path.write_text(json.dumps(stored))
    again = gate_in_process(tmp_path, GxMemo.for_suite(tmp_path / "memo", tmp_path / "mart.json"))
    pd.testing.assert_frame_equal(again.drop(columns="run_at"), asked.drop(columns="run_at"))


def test_a_memo_that_cannot_be_written_leaves_the_results_standing(tmp_path, caplog):
    write_suite(tmp_path)
    build_mart(tmp_path / "mart.duckdb")
    (tmp_path / "memo").write_text("a file where the memo folder would go")
    memo = GxMemo.for_suite(tmp_path / "memo", tmp_path / "mart.json")
    results = gate_in_process(tmp_path, memo)
    memo.save()
    assert results.success.all()
    assert "not written" in caplog.text
