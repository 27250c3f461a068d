"""Great Expectations gates: each corruption fails the build at the gate, naming the suite,
expectation and column; training and scoring are skipped; registry, champion and predictions
stay as they were. The clean data passes (the session's `built` warehouse).

A corrupted raw load stops first at the demo's source gates (tests/mlmodels/gates, drafted by
`mlmodels draft-gates`), which skip staging and everything after it. The mart's suites are the
second line: with the source gates left out of the build, each such corruption still stops there.
"""

import re
import shutil

import pytest

from tests.integration.helpers import failures, new_warehouse

pytestmark = pytest.mark.slow

MART = "feat_customer__as_of"
TRAINING_SET = "ml_churn__training_set"

SOURCE_GATES = "path:tests/mlmodels/gates"

# name: (raw SQL or model edit, suite, expectation, column)
# The source gate that stops a raw corruption before staging (model edits pass them).
FIRST_GATE = {
    "nulls in a feature": "assert_demo__customers__region__missing_share",
    "out-of-range value": "assert_demo__events__amount__minimum",
    "unknown amounts": "assert_demo__events__amount__missing_share",
    "unseen category": "assert_demo__customers__acquisition_channel__accepted_values",
}

CORRUPTIONS = {
    "nulls in a feature": (
        "update raw.customers set region = null where customer_id % 25 = 0",
        MART, "expect_column_values_to_not_be_null", "region"),
    "out-of-range value": (
        "update raw.events set amount = -amount where event_type = 'order' and event_id % 50 = 0",
        MART, "expect_column_values_to_be_between", "revenue_7d"),
    # 40% of order amounts lost: the mart's revenue is unknown (NULL), not quietly smaller.
    "unknown amounts": (
        "update raw.events set amount = null where event_type = 'order' and event_id % 5 < 2",
        MART, "expect_column_values_to_not_be_null", "revenue_30d"),
    "unseen category": (
        "update raw.customers set acquisition_channel = 'tiktok' where customer_id % 20 = 0",
        MART, "expect_column_values_to_be_in_set", "acquisition_channel"),
    "missing column": (
        ("models/features/feat_customer__as_of.sql", "    spine.region,\n", ""),
        MART, "expect_column_values_to_not_be_null", "region"),
    "changed type": (
        ("models/features/feat_customer__as_of.sql",
         "cast(plan_at_cutoff.plan_changes as integer) as plan_changes",
         "cast(plan_at_cutoff.plan_changes as varchar) as plan_changes"),
        MART, "expect_column_values_to_be_in_type_list", "plan_changes"),
    "empty as_of partition": (
        ("models/features/feat_customer__as_of.sql",
         "plan_at_cutoff.as_of_date = spine.as_of_date\n",
         "plan_at_cutoff.as_of_date = spine.as_of_date\nwhere spine.as_of_date <> date '2024-03-01'\n"),
        MART, "expect_table_row_count_to_be_between", None),
    "duplicate keys": (
        ("models/features/feat_customer__as_of.sql",
         "from {{ ref('stg_demo__customers') }} as customers",
         ("from (select * from {{ ref('stg_demo__customers') }} union all select * from"
         " {{ ref('stg_demo__customers') }} where customer_id % 50 = 0) as customers")),
        MART, "expect_compound_columns_to_be_unique", "customer_id,as_of_date"),
    "label rate far off": (
        ("insert into raw.events select 700000000 + customer_id, customer_id, 'cancellation',"
        " timestamp '2024-02-10 10:00:00', null from raw.customers c"
        " where signup_at < timestamp '2024-01-01' and customer_id % 3 <> 0 and not exists ("
        " select 1 from raw.events e where e.customer_id = c.customer_id"
        " and e.event_type = 'cancellation' and e.occurred_at < timestamp '2024-02-11')"),
        TRAINING_SET, "expect_column_mean_to_be_between", "churned_90d"),
}


RAW_TABLES = ("customers", "plan_history", "events")


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A demo warehouse built clean once, with a copy of its raw tables; each test restores them
    and corrupts them. (Restored in SQL, not by copying the file back: dbt in this process keeps
    its DuckDB database open, and would go on seeing the corrupted tables.)"""
    warehouse = new_warehouse(tmp_path_factory.mktemp("gates"))
    warehouse.build()
    warehouse.raw("create schema clean_raw; " + " ".join(
        f"create table clean_raw.{table} as select * from raw.{table};" for table in RAW_TABLES))
    return warehouse


def restore_raw(warehouse) -> None:
    warehouse.raw(" ".join(f"create or replace table raw.{table} as select * from "
                           f"clean_raw.{table};" for table in RAW_TABLES))


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_corrupted_data_stops_at_the_gate(clean, corruption, tmp_path):
    warehouse = clean
    restore_raw(warehouse)
    project_backup = tmp_path / "project"
    shutil.copytree(warehouse.project, project_backup)
    change, suite, expectation, column = CORRUPTIONS[corruption]
    # The mart's gate stops both models; a training set's gate stops its own model only.
    stopped = ["churn", "spend"] if suite == MART else ["churn"]
    registries = [warehouse.artifacts / name / "registry.json" for name in stopped]
    registry_before = [p.read_bytes() for p in registries]
    predictions_before = warehouse.sql(
        "select * from ml_churn__predictions order by all").drop(columns="scored_at")
    try:
        if isinstance(change, tuple):
            warehouse.edit(*change)
        else:
            warehouse.raw(change)
        if corruption in FIRST_GATE:
            assert_stopped_at_the_source(warehouse, FIRST_GATE[corruption])
        result = warehouse.build(*(["--exclude", SOURCE_GATES] if corruption in FIRST_GATE
                                   else []), expect_success=False)
    finally:
        shutil.rmtree(warehouse.project)
        shutil.copytree(project_backup, warehouse.project)

    assert not result.success
    statuses = {r.node.name: str(r.status) for r in result.result.results}
    failing = {name for name, status in statuses.items() if status in {"error", "fail"}}
    assert any(name.startswith("mlmodels_dq_gate_passes_dq_") for name in failing), failures(result)
    # The evidence: the failed expectation, in the gate's table, naming suite and column.
    gate = warehouse.sql(f"select * from dq_{suite} where not success and severity = 'error'")
    hits = gate[gate.expectation == expectation]
    assert len(hits), f"{expectation} did not fail; failed: {sorted(set(gate.expectation))}"
    if column is not None:
        assert column in set(hits.column_name)
    assert (hits.suite == suite).all()
    log = "\n".join(warehouse.log)
    assert f"suite {suite}: {expectation} on column {column or '(table)'}" in log
    # Nothing downstream of the gate ran; what it would have changed is as it was.
    for name in stopped:
        for model in (f"ml_{name}__train", f"ml_{name}__scores", f"ml_{name}__predictions"):
            assert statuses.get(model) == "skipped", (model, statuses.get(model))
    assert [p.read_bytes() for p in registries] == registry_before
    predictions_after = warehouse.sql(
        "select * from ml_churn__predictions order by all").drop(columns="scored_at")
    assert predictions_after.equals(predictions_before)


def assert_stopped_at_the_source(warehouse, gate: str) -> None:
    """The source gate fails, naming relation, column and rule; no model after it runs."""
    result = warehouse.build(expect_success=False)
    statuses = {r.node.name: str(r.status) for r in result.result.results}
    failing = {name for name, status in statuses.items() if status in {"error", "fail"}}
    assert failing == {gate}, failures(result)
    downstream = [name for name in statuses
                  if name.startswith(("feat_", "dq_", "ml_churn__", "ml_spend__"))]
    assert downstream and all(statuses[name] == "skipped" for name in downstream), statuses


def test_clean_data_passes_every_gate(built):
    results = built.sql("select * from dq_results")
    suites = {MART, TRAINING_SET, "ml_spend__training_set"}
    assert set(results.suite) == suites
    assert results[results.severity == "error"].success.all()
    # Each gate's page shows its latest run: one row per expectation, the failed ones (warnings
    # only) first, and the counts of the results table.
    for suite in suites:
        run = results[(results.suite == suite) & (results.run_at == results[
            results.suite == suite].run_at.max())]
        checks = run.assign(column_name=run.column_name.fillna("")).groupby(
            ["expectation", "column_name", "kwargs"]).success.all()
        warned = int((~checks).sum())
        page = (built.project / "target" / "data_quality" / f"{suite}.html").read_text()
        section = page.split(f'id="suite-{suite}"')[1].split("<h2")[0]
        assert (f"errors failed: <strong>0</strong></span><span>warnings failed: <strong>{warned}"
                f"</strong></span><span>passed: <strong>{len(checks) - warned}</strong>"
                ) in section, suite
        rows = re.findall(r'<tr class="([^"]+)"><td><code>([^<]+)</code>', section)
        assert [css for css, _ in rows] == ["fail-warn"] * warned + ["pass"] * (
            len(checks) - warned), suite
        assert sorted(e for _, e in rows) == sorted(e for e, _, _ in checks.index), suite
    profile = built.sql(f"select * from dq_{MART}__profile")
    assert {"tenure_days", "plan", "__rows__"} <= set(profile.column)
