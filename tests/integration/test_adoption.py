"""A team's own dbt-duckdb project adopts mlmodels by the README's steps, from nothing to drift.

The project is written here from scratch (not a copy of dbt_project/): its own source table, its
own staging model and its own point-in-time mart. Then, as the README says: `mlmodels init`,
`dbt deps`, a spec in ml/, `mlmodels new`, a first build of the mart, `mlmodels draft-suite`, and
`dbt build`, which trains, gates, scores and monitors.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from mlmodels import scaffold
from tests.integration.helpers import shell

pytestmark = pytest.mark.slow

FILES = {
    "dbt_project.yml": """\
        name: shop
        version: "1.0.0"
        config-version: 2
        profile: shop
        models:
          shop:
            +materialized: table
        """,
    "profiles.yml": """\
        shop:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{{ env_var('SHOP_DB') }}"
              threads: 2
        """,
    "models/sources.yml": """\
        sources:
          - name: shop
            schema: shop
            tables:
              - name: orders
        """,
    "models/stg_shop__orders.sql": """\
        select distinct customer_id, cast(ordered_at as timestamp) as ordered_at, amount
        from {{ source('shop', 'orders') }}
        where amount > 0
        """,
    # Active customers (an order in the 180 days before the as_of) and what they did before it.
    "models/feat_shop_customer__as_of.sql": """\
        with orders as (
            select * from {{ ref('stg_shop__orders') }}
        ),

        as_of_dates as (
            {{ mlmodels.as_of_dates('2022-04-01',
                '(select max(ordered_at) from ' ~ ref('stg_shop__orders') ~ ')', 'month') }}
        ),

        features as (
            select
                orders.customer_id,
                as_of_dates.as_of_date,
                {{ mlmodels.pit_window_sum('1', 'orders.ordered_at', 'as_of_dates.as_of_date', 30) }}
                    as orders_30d,
                {{ mlmodels.pit_window_sum('1', 'orders.ordered_at', 'as_of_dates.as_of_date', 90) }}
                    as orders_90d,
                {{ mlmodels.pit_window_sum('orders.amount', 'orders.ordered_at',
                                           'as_of_dates.as_of_date', 90) }} as revenue_90d,
                date_diff('day', cast(max(orders.ordered_at) as date), as_of_dates.as_of_date)
                    as days_since_last_order
            from as_of_dates
            inner join orders
                on {{ mlmodels.pit_window('orders.ordered_at', 'as_of_dates.as_of_date', 180) }}
            group by orders.customer_id, as_of_dates.as_of_date
        )

        select * from features
        """,
    "ml/churn.yml": """\
        name: churn
        description: Customers who will not order in the next 90 days.
        problem:
          decision: Who gets a win-back offer at the start of each month.
          rule_baseline: "days_since_last_order > 60"
        task: binary_classification
        entity_key: customer_id
        as_of: as_of_date
        target: churned_90d
        label:
          mart: feat_shop_customer__as_of
          events: stg_shop__orders
          timestamp: ordered_at
          horizon_days: 90
          absent: true
        split: {valid_periods: 2, test_periods: 2}
        features:
          numeric: [orders_30d, orders_90d, revenue_90d, days_since_last_order]
          tier1: [days_since_last_order]
        candidates:
          - name: logistic_regression
            params: {max_iter: 500}
        search: {cv_folds: 2}
        selection_metric: roc_auc
        """,
}


def orders(customers: int = 500, seed: int = 11) -> pd.DataFrame:
    """Customers who order at their own pace until they stop, over three years."""
    rng = np.random.default_rng(seed)
    rows = []
    start, end = pd.Timestamp("2022-01-01"), pd.Timestamp("2024-12-31")
    for customer in range(customers):
        joined = start + pd.Timedelta(days=int(rng.integers(0, 700)))
        stops = joined + pd.Timedelta(days=float(rng.exponential(400)))
        gap = rng.uniform(10, 45)
        at = joined
        while at < min(stops, end):
            rows.append((customer, at, round(float(rng.lognormal(3, 0.5)), 2)))
            at += pd.Timedelta(days=float(rng.exponential(gap)))
    return pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])


def write_project(root: Path) -> Path:
    project = root / "shop"
    for relative, text in FILES.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return project


@pytest.fixture(scope="module")
def adopted(tmp_path_factory):
    root = tmp_path_factory.mktemp("adoption")
    project = write_project(root)
    db = root / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema shop")
        con.register("frame", orders())
        con.execute("create table shop.orders as select * from frame")
    env = pytest.MonkeyPatch()
    env.setenv("SHOP_DB", str(db))
    env.setenv("DBT_PROFILES_DIR", str(project))
    env.setenv("DBT_PROJECT_DIR", str(project))  # `make test` points it at the demo project
    env.setenv("MLMODELS_ARTIFACT_DIR", str(root / "artifacts"))
    env.setenv("MLMODELS_EXPORT_DIR", str(root / "exports"))
    try:
        # The README's steps, in order, from the project folder.
        shell("mlmodels", "init", cwd=project)
        shell("dbt", "deps", cwd=project)
        shell("dbt", "build", cwd=project)  # adopted, no ML model yet: builds, empty registry
        shell("mlmodels", "new", "churn", "--project", ".", cwd=project)
        shell("dbt", "build", "--select", "+ml_churn__training_set", cwd=project)
        shell("mlmodels", "draft-suite", "churn", "--db", str(db), "--project", ".", cwd=project)
        shell("dbt", "build", cwd=project)
    finally:
        env.undo()
    return project, db


def test_init_adds_the_package_vars_and_folders_once(tmp_path):
    project = write_project(tmp_path)
    done = scaffold.init(project)
    # packages.yml, three vars, expectations/ (ml/ holds the spec already), selectors.yml
    assert len(done) == 6
    packages = (project / "packages.yml").read_text()
    local = packages.split("local:")[1].strip()
    assert (project / local / "dbt_project.yml").is_file()
    text = (project / "dbt_project.yml").read_text()
    assert "  ml_models: []" in text and "  champion_pins: {}" in text
    assert scaffold.init(project) == []  # idempotent
    assert scaffold.suites_folder(project) == "expectations"
    assert "name: daily_scoring" in (project / "selectors.yml").read_text()


def test_the_adopted_project_builds_to_predictions_and_drift(adopted):
    project, db = adopted
    assert (project / "expectations" / "feat_shop_customer__as_of.json").is_file()
    with duckdb.connect(str(db)) as con:
        def rows(query: str) -> set[tuple]:
            return set(con.sql(query).fetchall())

        status = con.sql("select status from ml_model_registry").fetchall()
        assert status == [("champion",)]
        fit_to = con.sql("select fit_to from ml_model_registry").fetchall()[0][0]
        # The mart's active customers at the latest as_of are scored live, and every as_of after
        # the fit window is backfilled: one prediction per training-set row there, no other.
        latest = con.sql("select max(as_of_date) from feat_shop_customer__as_of").fetchall()[0][0]
        active = rows("select customer_id from feat_shop_customer__as_of"
                      f" where as_of_date = date '{latest}'")
        live = con.sql("select customer_id from ml_churn__predictions where as_of_date = "
                       f"date '{latest}' and not coalesce(backfill, false)").fetchall()
        assert active and set(live) == active and len(live) == len(active)
        after = rows("select customer_id, as_of_date from ml_churn__training_set"
                     f" where as_of_date > date '{fit_to}'")
        predicted = con.sql("select customer_id, as_of_date from ml_churn__predictions").fetchall()
        assert set(predicted) == after and len(predicted) == len(after)
        scored = {d for _, d in after}
        # Monitoring: per scored as_of a prediction drift row and a retrain signal row, and a
        # drift row per feature of the spec.
        for table in ("ml_churn__prediction_drift", "ml_churn__retrain_signal"):
            dates = con.sql(f"select as_of_date from {table}").fetchall()
            assert sorted(d for (d,) in dates) == sorted(scored), table
        features = {"orders_30d", "orders_90d", "revenue_90d", "days_since_last_order"}
        drift = con.sql("select feature, as_of_date from ml_churn__feature_drift").fetchall()
        assert set(drift) == {(f, d) for f in features for d in scored}
        assert len(drift) == len(features) * len(scored)
        # Refitted through the latest matured as_of, the champion has scored nothing whose
        # label has matured yet: the table is there, and fills in as the labels mature.
        assert con.sql("select count(*) from ml_churn__realised_performance").fetchall() == [(0,)]
        # The gates' results are in dq_results: one suite per drafted suite file, all passed.
        suites = {s for (s,) in con.sql("select distinct suite from dq_results").fetchall()}
        failed = con.sql("select suite, expectation from dq_results where not success"
                         " and severity = 'error'").fetchall()
    drafted = {p.stem for p in (project / "expectations").glob("*.json")}
    assert drafted and suites == drafted and failed == []


def test_the_adopted_project_has_tables_selectors_and_gated_tags(adopted):
    """The README's steps give tables (not views), working selectors, and tag:ml with its gates."""
    project, db = adopted
    with duckdb.connect(str(db)) as con:
        kinds = dict(con.sql("select table_name, table_type from information_schema.tables "
                             "where table_name like 'ml_churn__%'").fetchall())
    assert kinds and set(kinds.values()) == {"BASE TABLE"}, kinds
    env = {**os.environ, "SHOP_DB": str(db), "DBT_PROFILES_DIR": str(project),
           "DBT_PROJECT_DIR": str(project)}
    for selection in (["--selector", "daily_scoring"], ["--select", "tag:ml"]):
        listed = subprocess.run([str(Path(sys.executable).parent / "dbt"), "ls", *selection,
                                 "--resource-type", "model", "--output", "name", "--quiet"],
                                cwd=project, capture_output=True, text=True, env=env, check=True)
        names = set(listed.stdout.split())
        assert {"ml_churn__scores", "dq_ml_churn__training_set"} <= names, names
