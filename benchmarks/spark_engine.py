"""The same work on DuckDB and on a local Apache Spark: scoring throughput and the demo build.

    .venv/bin/python benchmarks/spark_engine.py --rows 2000000 --customers 5000

Needs the ``spark`` extra (pyspark, dbt-spark) and Java 17. Side by side in one run:

1. Scoring. Setup (not timed): fit and register the churn spec on the demo world (5,000
   customers), replicate the mart's rows to N rows in a DuckDB table and in a Parquet table of a
   local Spark (4 files, so both of its cores get work). Then, each engine in its own process:
   ``workflow.score_rows`` (the code the scores model runs) over the N rows, the result written
   back as a table (DuckDB: streamed through this process; Spark: ``mapInArrow`` on the workers,
   written as Parquet). Reported: rows/s of each and the ratio Spark / DuckDB.
2. The demo build: ``dbt build`` of the demo project on each engine (DuckDB: ``--target dev``;
   Spark: ``--target spark`` over the same raw tables copied into its warehouse), wall time and
   peak RSS of the process tree, and the ratio.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from build_scale import BIN, REPO, measure

SPARK_CONFIG = {
    "spark.master": "local[2]",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
}
# Puts this folder on the child's sys.path, for peak_memory (a child of "-c" has only its cwd).
CHILD_PATH = f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
CHILD = """
from peak_memory import peak_rss_gib  # the benchmarks folder is on sys.path: CHILD_PATH
import dataclasses, json, os, sys, time
import pandas as pd
from mlmodels import engine, workflow
from mlmodels.serve import scoring
from mlmodels.spec import specs
mode, work = sys.argv[1], sys.argv[2]
# scores only (the demo's churn also asks for reason codes: benchmarks/explain_cost.py)
spec = dataclasses.replace(specs.load(os.path.join(work, "churn.yml")), explain_top_k=0)
scorers = scoring.registered_scorers(pd.read_parquet(os.path.join(work, "registry.parquet")), spec)
if mode == "duckdb":
    import duckdb
    con = duckdb.connect(os.path.join(work, "rows.duckdb"))
    started = time.perf_counter()
    reader = workflow.score_rows(engine.table(con.table("rows")), scorers, spec)
    writer = con.cursor()  # a second cursor writes while the first still streams the rows
    writer.execute("create or replace table scored as select * from reader")
    n = writer.sql("select count(*) from scored").fetchall()[0][0]
else:
    from pyspark.sql import SparkSession
    builder = SparkSession.builder.enableHiveSupport()
    for name, value in json.loads(sys.argv[3]).items():
        builder = builder.config(name, value)
    spark = builder.getOrCreate()
    rows = spark.table("rows")
    started = time.perf_counter()
    scored = workflow.score_rows(engine.table(rows), scorers, spec)
    scored.write.format("parquet").mode("overwrite").saveAsTable("scored")
    n = spark.table("scored").count()
seconds = time.perf_counter() - started
peak = peak_rss_gib()
print(json.dumps({"mode": mode, "rows": n, "seconds": seconds, "driver_peak_gib": peak}))
"""


def spark_config(work: Path) -> dict[str, str]:
    """The local Spark's settings: its warehouse and Derby metastore inside ``work``."""
    return {**SPARK_CONFIG, "spark.sql.warehouse.dir": str(work / "spark-warehouse"),
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={work / 'spark-warehouse'}"}


def setup_scoring(work: Path, rows: int) -> None:
    """Register a churn champion and write N rows of its mart to DuckDB and to Spark."""
    import duckdb

    from mlmodels import demo
    from mlmodels.learn import training
    from mlmodels.serve.promotion import train_and_register
    from mlmodels.spec import specs

    spec_file = REPO / "dbt_project" / "ml" / "churn.yml"
    shutil.copy(spec_file, work / "churn.yml")
    spec = specs.load(spec_file)
    db = work / "rows.duckdb"
    with duckdb.connect(str(db)) as con:
        demo.generate(con, customers=5000)
    project = work / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    env = {**os.environ, "DUCKDB_PATH": str(db), "DBT_PROJECT_DIR": str(project),
           "DBT_PROFILES_DIR": str(REPO), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    subprocess.run([str(BIN / "dbt"), "run", "--select", "+ml_churn__training_set"], env=env,
                   cwd=project, check=True, stdout=subprocess.DEVNULL)
    with duckdb.connect(str(db)) as con:
        labelled = training.rows_with_rule(con.table("ml_churn__training_set"), spec)
        registry = train_and_register(labelled, spec, work / "store")
        registry.to_parquet(work / "registry.parquet")
        base = con.sql("select count(*) from ml_churn__training_set").fetchall()[0][0]
        copies = -(-rows // base)
        # The newest as_of, so every version scores (none scores inside its fit window).
        con.execute(f"""create table rows as
            select * replace (customer_id * 1000 + copy as customer_id,
                              (select max(as_of_date) from ml_churn__training_set) as as_of_date)
            from ml_churn__training_set, range({copies}) as t(copy) limit {rows}""")
        con.execute(f"copy rows to '{work / 'rows.parquet'}' (format parquet)")
    load = f"""
import json, sys
from pyspark.sql import SparkSession
builder = SparkSession.builder.enableHiveSupport()
for name, value in json.loads(sys.argv[1]).items():
    builder = builder.config(name, value)
spark = builder.getOrCreate()
spark.read.parquet({str(work / 'rows.parquet')!r}).repartition(4) \\
    .write.format("parquet").mode("overwrite").saveAsTable("rows")
"""
    subprocess.run([sys.executable, "-c", load, json.dumps(spark_config(work))], check=True,
                   cwd=work, env={**os.environ, "PYSPARK_PYTHON": sys.executable},
                   capture_output=True)


def score_on(mode: str, work: Path) -> dict:
    """Run the timed scoring of one engine in its own process."""
    run = subprocess.run([sys.executable, "-c", CHILD_PATH + CHILD, mode, str(work),
                          json.dumps(spark_config(work))], check=False, capture_output=True,
                         text=True, cwd=work, env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    if run.returncode != 0:
        raise SystemExit(f"{mode} scoring failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def build_on(target: str, work: Path, customers: int) -> dict:
    """``dbt build`` of the demo on one target, in a fresh copy of the project."""
    project = work / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(REPO / "expectations", work / "expectations")
    env = {**os.environ, "DUCKDB_PATH": str(work / "demo.duckdb"),
           "MLMODELS_ARTIFACT_DIR": str(work / "artifacts"),
           "MLMODELS_EXPORT_DIR": str(work / "exports"),
           "MLMODELS_SIGNING_KEY_FILE": str(work / "signing.key"),
           "SPARK_WAREHOUSE": str(work / "tables"), "PYSPARK_PYTHON": sys.executable,
           "DBT_PROJECT_DIR": str(project), "DBT_PROFILES_DIR": str(REPO),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    generate = [str(BIN / "mlmodels"), "generate-demo", "--db", str(work / "demo.duckdb"),
                "--customers", str(customers)]
    if target == "spark":
        generate += ["--spark-warehouse", str(work / "tables")]
    measure(generate, env, work)
    seconds, peak = measure([str(BIN / "dbt"), "build", "--target", target], env, project)
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    statuses = [r["status"] for r in results]
    return {"target": target, "build_s": round(seconds, 1), "peak_gib": round(peak, 2),
            "nodes": len(results), "errors": statuses.count("error") + statuses.count("fail")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-build", action="store_true", help="scoring only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        setup_scoring(work, args.rows)
        duck, spark = score_on("duckdb", work), score_on("spark", work)
    rate = {r["mode"]: r["rows"] / r["seconds"] for r in (duck, spark)}
    print(json.dumps({
        "rows": args.rows, "duckdb_rows_per_s": round(rate["duckdb"]),
        "spark_rows_per_s": round(rate["spark"]), "duckdb_scored": duck["rows"],
        "spark_scored": spark["rows"], "spark_over_duckdb": round(rate["spark"] / rate["duckdb"], 2),
        "duckdb_peak_gib": round(duck["driver_peak_gib"], 2),
        "spark_driver_python_peak_gib": round(spark["driver_peak_gib"], 2),
    }), flush=True)
    if args.skip_build:
        return
    builds = {}
    for target in ("dev", "spark"):
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            builds[target] = build_on(target, Path(tmp), args.customers)
    print(json.dumps({"customers": args.customers, "duckdb": builds["dev"],
                      "spark": builds["spark"],
                      "spark_over_duckdb": round(builds["spark"]["build_s"]
                                                 / builds["dev"]["build_s"], 2)}), flush=True)


if __name__ == "__main__":
    main()
