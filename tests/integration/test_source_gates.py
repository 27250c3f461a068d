"""Source-level gates: drafted from a clean load, they pass on it and stop each corruption.

A throwaway dbt project adopts the mlmodels package, with a raw event log, a staging model and a
mart downstream. `mlmodels draft-gates` drafts the raw table's gates; then each corruption of the
seeds' reliability cases (retyped column, null flood, blank flood, negative values, unseen
category, the same events reloaded under new ids, an empty day, a future timestamp) fails the
build at the gate that names the relation, column and rule, and the mart is skipped: nothing
downstream is rebuilt from the corrupted load.
"""

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from dbt.cli.main import dbtRunner

from mlmodels import cli
from tests.integration.helpers import REPO, throwaway_project

pytestmark = pytest.mark.slow


def clean_events() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 3000
    frame = pd.DataFrame({
        "event_id": np.arange(n),
        "customer_id": rng.integers(1, 300, n),
        "event_type": rng.choice(["order", "refund"], n, p=[0.9, 0.1]),
        "occurred_at": pd.Timestamp("2024-01-01")
        + pd.to_timedelta(np.sort(rng.integers(0, 90 * 86400, n)), unit="s"),
        "amount": np.round(rng.gamma(2, 30, n), 2),
        "note": rng.choice(["", "gift", None], n, p=[0.02, 0.1, 0.88]),
    })
    frame.loc[rng.random(n) < 0.03, "amount"] = np.nan
    # Exact duplicate rows of a double load: not a key duplicate (staging removes them).
    return pd.concat([frame, frame.head(40)], ignore_index=True)


CORRUPTIONS = {
    # case: (SQL on raw.events, the failing test's name)
    "retyped column": ("alter table raw.events alter amount type varchar",
                       "assert_shop__events__schema"),
    "null flood": ("update raw.events set amount = null where event_id % 5 < 2",
                   "assert_shop__events__amount__missing_share"),
    "blank flood": ("update raw.events set event_type = ' ' where event_id % 10 = 0",
                    "assert_shop__events__event_type__missing_share"),
    "negative values": ("update raw.events set amount = -amount where event_id % 50 = 0",
                        "assert_shop__events__amount__minimum"),
    "unseen category": ("update raw.events set event_type = 'chargeback' where event_id % 97 = 0",
                        "assert_shop__events__event_type__accepted_values"),
    "reloaded under new ids": (
        ("insert into raw.events select event_id + 1000000, customer_id, event_type, occurred_at, "
        "amount, note from raw.events where event_id % 10 = 0"),
        "assert_shop__events__customer_id_occurred_at__unique"),
    "empty day": ("delete from raw.events where occurred_at::date = date '2024-02-14'",
                  "assert_shop__events__occurred_at__no_empty_day"),
    "future timestamp": (("update raw.events set occurred_at = occurred_at + interval 10 year "
                         "where event_id = 7"),
                         "assert_shop__events__occurred_at__not_after_observed_until"),
}


def make_project(root: Path) -> tuple[Path, Path]:
    package = root / "mlmodels_dbt"
    shutil.copytree(REPO / "mlmodels" / "dbt", package)
    project = throwaway_project(root, "shop", package)
    (project / "models" / "sources.yml").write_text(
        "sources:\n  - name: shop\n    schema: raw\n    tables:\n"
        "      - name: events\n        identifier: events\n")
    (project / "models" / "stg_shop__events.sql").write_text(
        "select distinct * from {{ source('shop', 'events') }}\n")
    (project / "models" / "mart_daily.sql").write_text(
        "select occurred_at::date as day, count(*) as orders, sum(amount) as revenue\n"
        "from {{ ref('stg_shop__events') }} group by 1\n")
    db = root / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema raw")
        con.register("frame", clean_events())
        con.execute("create table raw.events as select * from frame")
    return project, db


def build(project: Path, db: Path, monkeypatch):
    monkeypatch.setenv("DUCKDB_PATH", str(db))
    monkeypatch.setenv("MLMODELS_EXPORT_DIR", str(db.parent / "exports"))
    common = ["--project-dir", str(project), "--profiles-dir", str(REPO), "--quiet"]
    assert dbtRunner().invoke(["deps", *common]).success
    # The shop's own models and tests (the package's shared models have nothing to do here).
    return dbtRunner().invoke(["build", *common, "--select", "package:shop"])


def statuses(result) -> dict[str, str]:
    return {r.node.name: str(r.status) for r in result.result}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("shop")
    project, db = make_project(root)
    assert cli.main(["draft-gates", "shop.events", "--db", str(db), "--project",
                     str(project)]) == 0
    return project, db


def test_drafted_gates_name_every_rule_and_pass_on_the_data_they_were_drafted_from(
        shop, monkeypatch):
    project, db = shop
    names = sorted(p.stem for p in (project / "tests" / "mlmodels" / "gates").rglob("*.sql"))
    for _, test in CORRUPTIONS.values():
        assert test in names
    # The note column: 2% blank and 88% null, so its bound is what was seen plus 5 points.
    note = (project / "tests/mlmodels/gates/shop__events/"
            "assert_shop__events__note__missing_share.sql").read_text()
    assert "0.9493" in note and "blank_is_missing=true" in note
    result = build(project, db, monkeypatch)
    assert result.success, statuses(result)
    assert statuses(result)["mart_daily"] == "success"


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_each_corruption_fails_its_gate_and_nothing_downstream_is_built(shop, monkeypatch, case):
    project, db = shop
    corrupt, failing_test = CORRUPTIONS[case]
    with duckdb.connect(str(db)) as con:
        con.execute("create or replace table raw.clean as select * from raw.events")
        mart_before = con.sql("select * from main.mart_daily order by all").df()
        con.execute(corrupt)
    try:
        result = build(project, db, monkeypatch)
        status = statuses(result)
        assert not result.success
        assert status[failing_test] == "fail", {k: v for k, v in status.items() if v != "pass"}
        assert status["stg_shop__events"] == "skipped"
        assert status["mart_daily"] == "skipped"
        with duckdb.connect(str(db)) as con:
            assert con.sql("select * from main.mart_daily order by all").df().equals(mart_before)
    finally:
        with duckdb.connect(str(db)) as con:
            con.execute("drop table raw.events")
            con.execute("alter table raw.clean rename to events")


def test_a_relation_that_is_not_there_is_a_clear_error(shop, capsys):
    project, db = shop
    assert cli.main(["draft-gates", "shop.orders", "--db", str(db), "--project",
                     str(project)]) == 2
    assert "no source table 'shop.orders'" in capsys.readouterr().err
