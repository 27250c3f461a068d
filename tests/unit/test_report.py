import re

import numpy as np
import pandas as pd
import pytest

from mlmodels import files
from mlmodels.quality import profiling
from mlmodels.reports import quality_page


def _result(**values) -> dict:
    row = {
        "suite": "customers", "expectation": "expect_column_values_to_not_be_null",
        "column": "x", "kwargs": {"column": "x"}, "severity": "error", "success": True,
        "observed_value": None, "unexpected_count": 0, "unexpected_percent": 0.0,
        "unexpected_values": [], "partition": "2024-01-01", "rows": 100,
        "run_at": "2024-03-01T06:00:00",
    }
    row.update(values)
    return row


@pytest.fixture
def results() -> pd.DataFrame:
    rows = []
    for partition in ["2024-01-01", "2024-02-01"]:
        rows.append(_result(partition=partition, column="x"))
        rows.append(_result(
            partition=partition, expectation="expect_column_values_to_be_in_set",
            column="plan", kwargs={"column": "plan", "value_set": ["basic", "pro"]},
            success=partition == "2024-01-01",
            unexpected_count=0 if partition == "2024-01-01" else 3,
            unexpected_percent=0.0 if partition == "2024-01-01" else 3.0,
            unexpected_values=[] if partition == "2024-01-01" else ["<script>alert(1)</script>"],
        ))
        rows.append(_result(
            partition=partition, expectation="expect_column_mean_to_be_between", column="amount",
            kwargs={"column": "amount", "min_value": 1, "max_value": 2}, severity="warn",
            success=False, observed_value=2.5, unexpected_count=np.nan,
            unexpected_percent=np.nan, unexpected_values=None,
        ))
        # An older run of the same suite, which failed: the page shows the latest only.
        rows.append(_result(partition=partition, column="stale_column", success=False,
                            run_at="2024-02-01T06:00:00"))
        rows.append(_result(
            suite="ml_toy__training_set", partition=pd.Timestamp(partition),
            expectation="expect_table_row_count_to_be_between", column=None,
            kwargs='{"min_value": 50, "max_value": null}', observed_value=100,
            unexpected_count=None, unexpected_percent=None, unexpected_values=None,
            run_at=pd.Timestamp("2024-03-01 07:00"),
        ))
    return pd.DataFrame(rows)


def _rows_of(page: str, suite: str) -> list[str]:
    section = page.split(f'id="suite-{suite}"')[1].split("<h2")[0]
    return re.findall(r'<tr class="([^"]+)"><td><code>([^<]+)</code>', section)


def test_page_lists_each_suite_with_counts(tmp_path, results):
    path = quality_page.write_report(results, tmp_path / "dq.html", title="Data quality")
    page = path.read_text()
    assert path == tmp_path / "dq.html"
    assert page.startswith("<!DOCTYPE html>")
    for suite in ["customers", "ml_toy__training_set"]:
        assert f'id="suite-{suite}"' in page
    customers = page.split('id="suite-customers"')[1].split("<h2")[0]
    assert "errors failed: <strong>1</strong>" in customers
    assert "warnings failed: <strong>1</strong>" in customers
    assert "passed: <strong>1</strong>" in customers
    assert "1 / 2: 2024-02-01" in customers  # the in-set check failed in one of two partitions
    assert "3 (3%)" in customers


def test_failed_rows_come_first_and_are_marked(tmp_path, results):
    page = quality_page.write_report(results, tmp_path / "dq.html").read_text()
    rows = _rows_of(page, "customers")
    assert rows == [
        ("fail-error", "expect_column_values_to_be_in_set"),
        ("fail-warn", "expect_column_mean_to_be_between"),
        ("pass", "expect_column_values_to_not_be_null"),
    ]
    assert "stale_column" not in page  # from an older run
    assert _rows_of(page, "ml_toy__training_set") == [
        ("pass", "expect_table_row_count_to_be_between")]


def test_values_are_escaped(tmp_path, results):
    results.loc[0, "column"] = '"><img src=x onerror=alert(1)>'
    page = quality_page.write_report(results, tmp_path / "dq.html", title="<b>DQ</b>").read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page
    assert "<title>&lt;b&gt;DQ&lt;/b&gt;</title>" in page


def test_page_references_nothing_outside_itself(tmp_path, results):
    frame = pd.DataFrame({"x": [1.0, 2.0, None], "plan": ["basic", "<pro>", "basic"]})
    profiles = profiling.profile(frame).assign(mart="customers")
    page = quality_page.write_report(results, tmp_path / "dq.html", profiles=profiles).read_text()
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower()
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    assert "<img" not in page.lower()


def test_profiles_get_a_section_per_mart(tmp_path, results):
    frames = {
        "customers": pd.DataFrame({"x": [1.0, 2.0, None], "plan": ["basic", "<pro>", "basic"]}),
        "orders": pd.DataFrame({"amount": [3.0, 4.0]}),
    }
    profiles = pd.concat(
        [profiling.profile(f).assign(mart=m) for m, f in frames.items()], ignore_index=True)
    page = quality_page.write_report(results, tmp_path / "dq.html", profiles=profiles).read_text()
    section = page.split('id="profiles"')[1]
    assert "<h3>customers</h3>" in section and "<h3>orders</h3>" in section
    assert "basic 66.7%, &lt;pro&gt; 33.3%" in section
    assert "33.3%" in section  # null share of x


def test_write_is_atomic_and_creates_folders(tmp_path, results, monkeypatch):
    path = tmp_path / "deep" / "folder" / "dq.html"
    quality_page.write_report(results, path)
    first = path.read_text()
    quality_page.write_report(results.iloc[:2], path)
    assert path.read_text() != first
    assert [p.name for p in path.parent.iterdir()] == ["dq.html"]

    # A failed write leaves the old page in place and no temporary file behind.
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        quality_page.write_report(results, path)
    assert [p.name for p in path.parent.iterdir()] == ["dq.html"]
    assert path.read_text() != first


def test_empty_results_still_write_a_page(tmp_path):
    empty = pd.DataFrame(columns=quality_page.RESULT_COLUMNS)
    page = quality_page.write_report(empty, tmp_path / "dq.html").read_text()
    assert "No validation results." in page


def test_success_given_as_text_and_severity_quarantine(tmp_path):
    results = pd.DataFrame([
        _result(success="false", severity="quarantine", column="a"),
        _result(success="true", column="b"),
    ])
    page = quality_page.write_report(results, tmp_path / "dq.html").read_text()
    assert _rows_of(page, "customers") == [
        ("fail-quarantine", "expect_column_values_to_not_be_null"),
        ("pass", "expect_column_values_to_not_be_null"),
    ]
    assert "quarantined: <strong>1</strong>" in page
