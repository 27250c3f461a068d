"""Scoring throughput and peak memory: the streamed scorer against a plain in-memory script.

    .venv/bin/python benchmarks/scoring_throughput.py --rows 1000000 10000000

Setup (not timed): fit the churn spec on the demo world (5,000 customers) and replicate the
mart's feature rows into a DuckDB table of N rows. Then, each in its own process so peak RSS is
its own, side by side in one run:
(a) streamed: read the table as Arrow record batches, score them with mlmodels.scoring
    (the code the scores model runs) and write the result to a DuckDB table;
(b) plain: load the same rows into pandas and call predict_proba on them, as a script would;
(c) sliced: the same rows already in memory, predicted in slices of the scorer's batch size
    (scoring.BATCH_ROWS), with no I/O at all: the limit of any streamed scorer.
Each child's DuckDB is capped at --duckdb-memory-limit (1GB), so that a peak shows what the
scoring holds rather than DuckDB's cache. Reported: rows/s and peak RSS (VmHWM) of each (the median of --repeats runs, the modes interleaved), and
the throughput ratios (a) / (b) and (a) / (c).
"""

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import duckdb
import joblib

REPO = Path(__file__).resolve().parents[1]
# Puts this folder on the child's sys.path, for peak_memory (a child of "-c" has only its cwd).
CHILD_PATH = f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
CHILD = """
from peak_memory import peak_rss_gib  # the benchmarks folder is on sys.path: CHILD_PATH
import json, sys, time, duckdb, joblib
from mlmodels.serve import scoring
from mlmodels.spec import specs
from mlmodels.learn.pipelines import feature_frame
mode, db, model, memory_limit = sys.argv[1:5]
pipeline, spec = joblib.load(model)
con = duckdb.connect(db)
con.execute(f"set memory_limit = '{memory_limit}'")
rows = con.table("rows")
if mode == "streamed":  # timed: read, score and write back, batch by batch
    started = time.perf_counter()
    reader = scoring.score_batches(pipeline, rows.to_arrow_reader(scoring.BATCH_ROWS), spec, "v")
    writer = con.cursor()  # a second cursor writes while the first still streams the rows
    writer.execute("create or replace table scored as select * from reader")
    n = writer.sql("select count(*) from scored").fetchall()[0][0]
elif mode == "plain":  # timed: predict_proba only, on the rows already held in memory
    X = feature_frame(rows.df(), spec)
    started = time.perf_counter()
    n = len(pipeline.predict_proba(X)[:, 1])
else:  # sliced, timed: predict_proba on in-memory slices of the streamed batch size
    X = feature_frame(rows.df(), spec)
    started = time.perf_counter()
    n = sum(len(pipeline.predict_proba(X.iloc[start:start + scoring.BATCH_ROWS])[:, 1])
            for start in range(0, len(X), scoring.BATCH_ROWS))
seconds = time.perf_counter() - started
peak = peak_rss_gib()
print(json.dumps({"mode": mode, "rows": n, "seconds": seconds, "peak_gib": peak}))
"""


def setup(workdir: Path, rows: int) -> tuple[Path, Path]:
    import os
    import shutil

    from mlmodels import demo
    from mlmodels.learn import training
    from mlmodels.spec import specs

    db = workdir / "bench.duckdb"
    spec = specs.load(REPO / "dbt_project" / "ml" / "churn.yml")
    with duckdb.connect(str(db)) as con:
        demo.generate(con, customers=5000)
    project = workdir / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    env = {**os.environ, "DUCKDB_PATH": str(db), "DBT_PROJECT_DIR": str(project),
           "DBT_PROFILES_DIR": str(REPO), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    subprocess.run([str(Path(sys.executable).parent / "dbt"), "run", "--select",
                    "+ml_churn__training_set"], env=env, cwd=project, check=True,
                   stdout=subprocess.DEVNULL)
    with duckdb.connect(str(db)) as con:
        labelled = training.rows_with_rule(con.table("ml_churn__training_set"), spec)
        trained = training.fit(labelled, spec)
        base = con.sql("select count(*) from ml_churn__training_set").fetchall()[0][0]
        copies = -(-rows // base)
        con.execute(f"""create table rows as
            select * replace (customer_id * 1000 + copy as customer_id)
            from ml_churn__training_set, range({copies}) as t(copy) limit {rows}""")
    model = workdir / "model.joblib"
    # Scores only, as the plain script computes: the demo's churn spec also asks for reason
    # codes, whose cost benchmarks/explain_cost.py measures on its own.
    joblib.dump((trained.pipeline, replace(trained.spec, explain_top_k=0)), model)
    return db, model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each mode")
    # DuckDB's buffer pool otherwise caches the table's blocks up to 80% of RAM, so the streamed
    # peak would grow with the rows read although the scorer holds a few batches at a time.
    parser.add_argument("--duckdb-memory-limit", default="1GB",
                        help="each child's DuckDB memory_limit (default 1GB)")
    args = parser.parse_args()
    for rows in args.rows:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            db, model = setup(Path(tmp), rows)
            runs = {"streamed": [], "plain": [], "sliced": []}
            # Interleaved repeats, the median of each: this machine's speed drifts within minutes.
            for _ in range(args.repeats):
                for mode, found in runs.items():
                    child = [sys.executable, "-c", CHILD_PATH + CHILD, mode, str(db),
                             str(model), args.duckdb_memory_limit]
                    run = subprocess.run(child,
                                         check=False, capture_output=True, text=True)
                    if run.returncode != 0:
                        raise SystemExit(f"{mode} scoring failed:\n{run.stderr[-3000:]}")
                    found.append(json.loads(run.stdout.strip().splitlines()[-1]))
        results = {mode: sorted(found, key=lambda r: r["seconds"])[len(found) // 2]
                   for mode, found in runs.items()}
        streamed, plain, sliced = results["streamed"], results["plain"], results["sliced"]

        def per_s(result: dict) -> float:
            return result["rows"] / result["seconds"]

        print(json.dumps({
            "rows": rows,
            "streamed_rows_per_s": round(streamed["rows"] / streamed["seconds"]),
            "streamed_peak_gib": round(streamed["peak_gib"], 2),
            "plain_rows_per_s": round(plain["rows"] / plain["seconds"]),
            "plain_peak_gib": round(plain["peak_gib"], 2),
            "sliced_rows_per_s": round(per_s(sliced)),
            "sliced_peak_gib": round(sliced["peak_gib"], 2),
            "throughput_ratio": round(per_s(streamed) / per_s(plain), 2),
            "ratio_to_sliced_limit": round(per_s(streamed) / per_s(sliced), 2),
        }), flush=True)


if __name__ == "__main__":
    main()
