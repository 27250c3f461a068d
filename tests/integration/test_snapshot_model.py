"""A snapshot model (one row per customer, no time column) through every step, as a user adopts it.

The project is written here from scratch over a generated bank-churn table: `mlmodels init`,
`dbt deps`, a spec written from docs/specs.md (`as_of: null`, `snapshot: {mart, score_where}`),
`mlmodels new`, a build of the training set, `mlmodels draft-suite`, then `dbt build`: gates,
training, registry, scores of the active customers, predictions, drift, exports, the report.
A second build for the same snapshot date changes nothing; a new snapshot date appends.
"""

import json
import os
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.integration.helpers import shell

pytestmark = pytest.mark.slow

FILES = {
    "dbt_project.yml": """\
        name: bank
        version: "1.0.0"
        config-version: 2
        profile: bank
        """,
    "profiles.yml": """\
        bank:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{{ env_var('BANK_DB') }}"
              threads: 2
        """,
    "models/sources.yml": """\
        sources:
          - name: bank
            schema: bank
            tables:
              - name: customers
        """,
    "models/bank_customers.sql": """\
        select * from {{ source('bank', 'customers') }}
        """,
    "ml/attrition.yml": """\
        name: attrition
        description: Which customers will leave the bank.
        task: binary_classification
        entity_key: customer_id
        as_of: null
        target: exited
        snapshot:
          mart: bank_customers
          score_where: "exited = 0"
        features:
          numeric: [credit_score, age, balance, products, is_active]
          categorical: [geography]
        candidates:
          - name: logistic_regression
            params: {max_iter: 500}
        """,
}


def customers(n: int = 3000, seed: int = 5) -> pd.DataFrame:
    """Bank customers: older, inactive customers with one product leave more often."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "customer_id": np.arange(1, n + 1),
        "credit_score": rng.integers(350, 850, n),
        "geography": rng.choice(["France", "Spain", "Germany"], n, p=[0.5, 0.25, 0.25]),
        "age": rng.integers(18, 90, n),
        "balance": np.round(rng.exponential(60_000, n), 2),
        "products": rng.integers(1, 5, n),
        "is_active": rng.integers(0, 2, n),
    })
    logit = (0.06 * (frame.age - 40) - 1.0 * frame.is_active + 0.8 * (frame.products == 1)
             + 0.6 * (frame.geography == "Germany") - 1.5)
    frame["exited"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    frame.loc[rng.random(n) < 0.03, "exited"] = np.nan  # new customers: no outcome yet
    return frame


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    root = tmp_path_factory.mktemp("snapshot")
    project = root / "bank"
    for relative, text in FILES.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    db = root / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema bank")
        con.register("frame", customers())
        con.execute("create table bank.customers as select * from frame")
    env = pytest.MonkeyPatch()
    for key, value in {"BANK_DB": str(db), "DBT_PROFILES_DIR": str(project),
                       "DBT_PROJECT_DIR": str(project), "DUCKDB_PATH": str(db),
                       "MLMODELS_ARTIFACT_DIR": str(root / "artifacts"),
                       "MLMODELS_EXPORT_DIR": str(root / "exports"),
                       "MLMODELS_SIGNING_KEY_FILE": str(root / "signing.key")}.items():
        env.setenv(key, value)
    first = ["--vars", '{snapshot_date: "2026-11-01"}']
    try:
        shell("mlmodels", "init", cwd=project)
        shell("dbt", "deps", cwd=project)
        shell("mlmodels", "new", "attrition", cwd=project)
        shell("dbt", "build", "--select", "+ml_attrition__training_set", *first, cwd=project)
        shell("mlmodels", "draft-suite", "attrition", cwd=project)
        shell("dbt", "build", *first, cwd=project)
        yield project, db, root, env
    finally:
        env.undo()


def read(db: Path, query: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(query).df()


def test_new_writes_no_none_anywhere(bank):
    project, *_ = bank
    for path in (project / "models").rglob("*"):
        if path.suffix in {".sql", ".yml"}:  # Python's None belongs in the .py files
            assert "None" not in path.read_text(), path


def test_the_snapshot_model_trains_and_scores_the_active_customers(bank):
    _, db, *_ = bank
    registry = read(db, "select * from ml_model_registry")
    assert registry.status.tolist() == ["champion"]
    assert registry.split_strategy[0] == "stratified_random"
    source = customers()
    labelled = source.exited.notna().sum()
    assert registry.fit_rows[0] == labelled  # refitted on every labelled row
    scores = read(db, "select * from ml_attrition__scores")
    to_score = source[source.exited.isna() | (source.exited == 0)]
    assert sorted(scores.customer_id) == sorted(to_score.customer_id)
    assert set(scores.snapshot_date.astype(str)) == {"2026-11-01"}
    assert scores.score.between(0, 1).all()
    predictions = read(db, "select * from ml_attrition__predictions")
    assert len(predictions) == len(scores) and predictions.geography.notna().all()


def test_drift_gates_and_exports_are_built(bank):
    project, db, root, _ = bank
    drift = read(db, "select * from ml_attrition__feature_drift")
    assert set(drift.feature) == {"credit_score", "age", "balance", "products", "is_active",
                                  "geography"}
    assert set(drift.snapshot_date.astype(str)) == {"2026-11-01"}
    assert len(read(db, "select * from ml_attrition__prediction_drift")) == 1
    gate = read(db, "select expectation, coalesce(column_name, '') as column_name, success"
                    " from dq_ml_attrition__training_set")
    # One result per expectation of the drafted suite (a snapshot: no partitions), all passed.
    suite = json.loads((project / "expectations" / "ml_attrition__training_set.json").read_text())
    drafted = sorted((e["type"], e["kwargs"].get("column", "")) for e in suite["expectations"])
    assert drafted and sorted(zip(gate.expectation, gate.column_name, strict=True)) == drafted
    assert gate.success.all()
    exported = {p.name for p in (root / "exports").glob("*.parquet")}
    assert "ml_attrition__predictions.parquet" in exported
    out = shell("mlmodels", "report", "attrition", cwd=project)
    assert (project / "target" / "model_reports" / "attrition").is_dir(), out


def test_the_same_snapshot_date_again_changes_nothing_and_a_new_date_appends(bank):
    project, db, _, _ = bank
    before = read(db, "select * exclude (scored_at) from ml_attrition__scores order by all")
    shell("dbt", "build", "--vars", '{snapshot_date: "2026-11-01"}', cwd=project)
    again = read(db, "select * exclude (scored_at) from ml_attrition__scores order by all")
    pd.testing.assert_frame_equal(before, again)
    shell("dbt", "build", "--vars", '{snapshot_date: "2026-12-01"}', cwd=project)
    after = read(db, "select * exclude (scored_at) from ml_attrition__scores order by all")
    assert sorted(set(after.snapshot_date.astype(str))) == ["2026-11-01", "2026-12-01"]
    # The same customers and data on a new date: the new rows are the first date's, re-dated;
    # the first date's rows are kept as they were.
    first = after[after.snapshot_date == "2026-11-01"].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, before)
    second = after[after.snapshot_date == "2026-12-01"].reset_index(drop=True)
    pd.testing.assert_frame_equal(second.drop(columns="snapshot_date"),
                                  before.drop(columns="snapshot_date"))
    drift_dates = read(db, "select distinct cast(snapshot_date as varchar) as d "
                           "from ml_attrition__feature_drift order by 1")
    assert drift_dates.d.tolist() == ["2026-11-01", "2026-12-01"]  # history kept
    assert os.listdir(project / "expectations")


def test_dq_results_has_fixed_types_after_a_first_run_without_failures(bank):
    _, db, *_ = bank
    types = dict(read(db, "describe dq_results")[["column_name", "column_type"]].values)
    # A first run with no failure leaves these null; they must not take the type NULL.
    assert types["unexpected_values"] == "VARCHAR" and types["observed_value"] == "VARCHAR"
    assert types["unexpected_count"] == "BIGINT"
