"""The demo built on local Spark holds the rows the DuckDB build holds, key by key.

The same generated world (the shared DuckDB build's customers and seed) is copied into a local
Spark warehouse and built with the profile's ``spark`` target: the ``mlmodels_spark`` adapter,
SQL models through dbt-spark, Python models (gates, training, scoring) in the session, scores
written by the workers. dbt runs in a subprocess: a JVM's Derby metastore settings are fixed
when it starts, and the unit tests may have started one in this process.

The Spark tables are read back from their Parquet files with DuckDB, beside the DuckDB build.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.integration.helpers import REPO, SMALL

pytestmark = [pytest.mark.slow, pytest.mark.spark]
BIN = Path(sys.executable).parent
TOLERANCE = 1e-9


class SparkWorld:
    """A copy of the demo project built on a local Spark warehouse folder.

    ``connect``: over Spark Connect (``SPARK_REMOTE=local`` starts a local Connect server in the
    dbt process, and dbt-spark's session cursor and the Python models are its clients), else in
    a classic local session. The profile is the same.
    """

    def __init__(self, root: Path, connect: bool = False):
        self.root = root
        self.project = root / "dbt_project"
        self.tables = root / "spark" / "tables"
        self.env = {
            **os.environ,
            "SPARK_WAREHOUSE": str(self.tables),
            "PYSPARK_PYTHON": sys.executable,
            "DBT_PROJECT_DIR": str(self.project),
            "DBT_PROFILES_DIR": str(REPO),
            "MLMODELS_ARTIFACT_DIR": str(root / "spark" / "artifacts"),
            "MLMODELS_EXPORT_DIR": str(root / "spark" / "exports"),
            "MLMODELS_SIGNING_KEY_FILE": str(root / "signing.key"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        self.env.pop("SPARK_REMOTE", None)
        if connect:
            self.env["SPARK_REMOTE"] = "local"

    def run(self, *command: str) -> str:
        """Run a command in the project folder; fail the test with its output's tail if it fails."""
        done = subprocess.run(command, check=False, cwd=self.project, env=self.env,
                              capture_output=True,
                              text=True, timeout=1800)
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{output[-4000:]}"
        return output

    def dbt(self, *args: str) -> str:
        return self.run(str(BIN / "dbt"), *args, "--target", "spark")

    def path(self, table: str) -> str:
        return str(self.tables / "analytics.db" / table)

    def read(self, con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
        return con.sql(f"select * from read_parquet('{self.path(table)}/**/*.parquet', "
                       "hive_partitioning = true)").df()


@pytest.fixture(scope="module", params=["session", "connect"])
def spark_world(request, built, tmp_path_factory) -> SparkWorld:
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")
    if request.param == "connect":
        pytest.importorskip("grpc", reason="Spark Connect's client is missing (the spark extra "
                            "installs pyspark[connect])")
    if shutil.which("java") is None:
        pytest.skip("no java on PATH: local Spark needs Java 17")
    world = SparkWorld(tmp_path_factory.mktemp(f"spark_{request.param}"),
                       connect=request.param == "connect")
    shutil.copytree(REPO / "dbt_project", world.project, ignore=shutil.ignore_patterns(
        "target", "logs", "dbt_packages", "package-lock.yml", "*.duckdb"))
    (world.project / "packages.yml").write_text(
        f"packages:\n  - local: {REPO / 'mlmodels' / 'dbt'}\n")
    shutil.copytree(REPO / "expectations", world.root / "expectations")
    # The world the shared DuckDB build was generated from (helpers.new_warehouse's defaults).
    world.run(str(BIN / "mlmodels"), "generate-demo", "--db", str(world.root / "source.duckdb"),
              "--customers", str(SMALL), "--seed", "7", "--spark-warehouse", str(world.tables))
    world.run(str(BIN / "dbt"), "deps", "--quiet")
    world.dbt("build")
    return world


@pytest.fixture(scope="module")
def con(built):
    with duckdb.connect(str(built.db)) as connection:
        yield connection


def assert_same_rows(duck: pd.DataFrame, spark: pd.DataFrame, keys: list[str]) -> None:
    """Same keys; every other column equal, doubles within TOLERANCE."""
    assert len(spark) == len(duck)
    joined = duck.merge(spark, on=keys, how="outer", suffixes=("", "__spark"), indicator=True)
    assert (joined["_merge"] == "both").all(), joined[joined["_merge"] != "both"][keys].head()
    assert not duck.duplicated(keys).any()
    for column in duck.columns:
        if column in keys or f"{column}__spark" not in joined:
            continue
        ours, theirs = joined[column], joined[f"{column}__spark"]
        if pd.api.types.is_float_dtype(ours):
            np.testing.assert_allclose(theirs.astype(float), ours, rtol=0, atol=TOLERANCE,
                                       equal_nan=True, err_msg=column)
        else:
            same = (ours.astype(str) == theirs.astype(str)) | (ours.isna() & theirs.isna())
            assert same.all(), (column, joined.loc[~same, [*keys, column, f"{column}__spark"]])


def test_marts_labels_and_splits_are_the_same_rows(spark_world, con):
    keys = ["customer_id", "as_of_date"]
    for table in ("feat_customer__as_of", "ml_churn__training_set", "ml_spend__training_set"):
        assert_same_rows(con.sql(f"select * from {table}").df(),
                         spark_world.read(con, table), keys)


def test_the_same_versions_score_the_same_rows_identically(spark_world, con):
    registry = ["model_name", "model_version", "status", "threshold", "train_rows", "fit_rows"]
    duck = con.sql(f"select {', '.join(registry)} from ml_model_registry").df()
    spark = spark_world.read(con, "ml_model_registry")[registry]
    assert_same_rows(duck, spark, ["model_name", "model_version"])
    for model in ("churn", "spend"):
        as_of = "as_of_date"
        keys = ["model_version", "role", "customer_id", as_of]
        columns = [*keys, "score", "threshold", "predicted_label", "backfill"]
        ours = con.sql(f"select {', '.join(columns)} from ml_{model}__scores").df()
        theirs = spark_world.read(con, f"ml_{model}__scores")[columns]
        merged = ours.merge(theirs, on=keys, suffixes=("", "__spark"))
        assert len(merged) == len(ours) == len(theirs) > 0
        assert (merged.score.to_numpy() == merged.score__spark.to_numpy()).all()  # bit-identical


def test_monitoring_tables_are_the_same_rows(spark_world, con):
    for model in ("churn", "spend"):
        for table, keys in ((f"ml_{model}__prediction_drift", ["model_version", "as_of_date"]),
                            (f"ml_{model}__feature_drift",
                             ["model_version", "as_of_date", "feature"]),
                            (f"ml_{model}__realised_performance",
                             ["model_version", "as_of_date"]),
                            (f"ml_{model}__retrain_signal", ["model_version", "as_of_date"])):
            duck = con.sql(f"select * exclude (scored_at) from {table}").df() if "scored_at" in (
                con.sql(f"select * from {table} limit 0").columns) else con.sql(
                f"select * from {table}").df()
            assert_same_rows(duck, spark_world.read(con, table)[duck.columns], keys)


def test_predictions_rank_and_select_the_same_rows(spark_world, con):
    keys = ["model_version", "customer_id", "as_of_date"]
    columns = [*keys, "role", "score_rank", "decision_capacity", "is_selected", "risk_band"]
    for model in ("churn", "spend"):
        duck = con.sql(f"select {', '.join(columns)} from ml_{model}__predictions").df()
        assert_same_rows(duck, spark_world.read(con, f"ml_{model}__predictions")[columns], keys)


def test_rescoring_an_as_of_on_spark_replaces_its_partition_and_keeps_the_rest(spark_world, con):
    before = spark_world.read(con, "ml_churn__scores")
    dates = sorted(before.as_of_date.astype(str).str[:10].unique())
    assert len(dates) >= 2
    rescored = dates[0]
    spark_world.dbt("build", "--select", "ml_churn__scores",
                    "--vars", f"{{score_as_of: '{rescored}'}}")
    after = spark_world.read(con, "ml_churn__scores")
    day = after.as_of_date.astype(str).str[:10]
    old_day = before.as_of_date.astype(str).str[:10]
    keys = ["model_version", "role", "customer_id"]
    # The re-scored as_of holds the same keys once each, written by this run.
    assert not after[day == rescored].duplicated(keys).any()
    assert (sorted(map(tuple, after[day == rescored][keys].to_numpy()))
            == sorted(map(tuple, before[old_day == rescored][keys].to_numpy())))
    assert (after[day == rescored].scored_at > before.scored_at.max()).all()
    # Every other as_of is kept as it was.
    kept = after[day != rescored].sort_values([*keys, "as_of_date"]).reset_index(drop=True)
    was = before[old_day != rescored].sort_values([*keys, "as_of_date"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(kept[was.columns], was)
    # No tmp table left behind.
    assert not [p for p in (spark_world.tables / "analytics.db").iterdir()
                if "__dbt_tmp" in p.name]


JUNK = """
import sys
from pyspark.sql import SparkSession
tables = sys.argv[1]
spark = (SparkSession.builder.enableHiveSupport().config("spark.sql.warehouse.dir", tables)
         .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={tables}")
         .config("spark.ui.enabled", "false").getOrCreate())
# 50 rows of the latest as_of copied to an as_of no mart row has: junk, as future-dated
# events would leave behind.
spark.sql(\"\"\"insert into analytics.ml_churn__scores partition (as_of_date = '2030-04-01')
    select * except (as_of_date) from analytics.ml_churn__scores
    where as_of_date = (select max(as_of_date) from analytics.ml_churn__scores) limit 50\"\"\")
spark.stop()
"""


def test_rescoring_a_range_on_spark_drops_junk_partitions_and_keeps_the_rest(spark_world, con,
                                                                               tmp_path):
    script = tmp_path / "junk.py"
    script.write_text(JUNK)
    spark_world.run(sys.executable, str(script), str(spark_world.tables))
    spark_world.dbt("build", "--select", "ml_churn__scores")
    before = spark_world.read(con, "ml_churn__scores")
    day = before.as_of_date.astype(str).str[:10]
    assert (day == "2030-04-01").sum() == 50  # a normal build never rewrites it
    latest = max(day[day != "2030-04-01"])
    spark_world.dbt("build", "--select", "ml_churn__scores", "--vars",
                    f"{{rescore_from: '{latest}', rescore_to: '2030-12-31'}}")
    after = spark_world.read(con, "ml_churn__scores")
    new_day = after.as_of_date.astype(str).str[:10]
    assert not (new_day == "2030-04-01").any()
    assert not (spark_world.tables / "analytics.db" / "ml_churn__scores"
                / "as_of_date=2030-04-01").exists()
    history = spark_world.read(con, "ml_rescore_history")
    assert history.model_name.tolist() == ["churn"] and history.replaced_rows.tolist() == [50]
    keys = ["model_version", "role", "customer_id", "as_of_date"]
    # Outside the range: every row as it was, scored_at included.
    kept = after[new_day < latest].sort_values(keys).reset_index(drop=True)
    was = before[day < latest].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(kept[was.columns], was)
    # The latest as_of: the same keys, scored again, to the same scores.
    old = before[day == latest].sort_values(keys).reset_index(drop=True)
    new = after[new_day == latest].sort_values(keys).reset_index(drop=True)
    assert new[keys].astype(str).equals(old[keys].astype(str))
    assert (new.scored_at > old.scored_at.max()).all()
    assert (new.score.to_numpy() == old.score.to_numpy()).all()


def test_summary_and_report_read_the_spark_tables_as_they_read_duckdb(spark_world, con,
                                                                       tmp_path, capsys):
    from mlmodels import cli

    tables = str(spark_world.tables / "analytics.db")
    assert cli.main(["summary", "--tables", tables]) == 0
    on_spark = capsys.readouterr().out.splitlines()
    cli._print_summary(con, "the DuckDB build")  # the module's connection holds the file's lock
    on_duckdb = capsys.readouterr().out.splitlines()
    assert on_spark[0] == f"Parquet tables: {tables}"
    # The same tables, sizes, versions, scores and signals.
    assert on_spark[1:] == on_duckdb[1:] and len(on_spark) > 10
    assert cli.main(["report", "churn", "--tables", tables, "--project",
                     str(spark_world.project), "--out", str(tmp_path)]) == 0
    page = Path(capsys.readouterr().out.split("wrote ")[-1].strip())
    assert page.parent == tmp_path / "churn" and "<svg" in page.read_text()
