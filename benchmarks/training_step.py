"""The training step inside `dbt build` against a plain script doing the same search in memory.

    .venv/bin/python benchmarks/training_step.py --customers 5000 100000

For each scale: generate the demo world, build up to the churn training set, then time
(a) `dbt run --select ml_churn__preflight ml_churn__train` with an empty store, the train node's
    time: the whole workflow, leakage audit,
    time-ordered CV over every candidate and parameter set, refits, selection on valid, threshold,
    test, baselines (prior, linear, rule), evaluation tables, artifact and registry writes;
(b) a plain script on the same rows already in memory: the same Pipeline, the same time-ordered
    folds and parameter sets via GridSearchCV, refit of each candidate's best on train, selection
    on valid, predict_proba on test; once as written (folds one by one) and once with
    GridSearchCV(n_jobs=-1), as the training step runs its independent fits on every core.
Both run side by side in this one process run; the ratio is (a) / (b). Neither includes importing
sklearn and mlmodels: the preflight node imports them in (a)'s dbt process first, as this script
does before (b). That import, measured in a fresh process, is reported beside, with the ratio it
would make if the train node paid it (it does when it is the build's first Python model).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from sklearn.metrics import average_precision_score
from sklearn.model_selection import GridSearchCV

from mlmodels.learn import training
from mlmodels.learn.pipelines import build_pipeline, feature_frame
from mlmodels.learn.splits import time_ordered_folds
from mlmodels.spec import specs

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def dbt(env, project, *args):
    subprocess.run([str(BIN / "dbt"), *args], env=env, cwd=project, check=True,
                   stdout=subprocess.DEVNULL)


def plain_script(rows, spec, n_jobs=None) -> float:
    """The same search by hand, on rows in memory; returns seconds."""
    started = time.perf_counter()
    parts = {s: rows[rows.split == s] for s in ("train", "valid", "test")}
    X = {s: feature_frame(p, spec) for s, p in parts.items()}
    y = {s: p[spec.target].to_numpy(dtype=int) for s, p in parts.items()}
    folds = time_ordered_folds(parts["train"][spec.as_of], spec.cv_folds,
                               spec.label.horizon_days)
    best = []
    for candidate in spec.candidates:
        grid = {f"est__{k}": v for k, v in candidate.grid.items()} or {}
        search = GridSearchCV(build_pipeline(spec, candidate.name, candidate.params),
                              grid or [{}], cv=folds, scoring="average_precision", refit=True,
                              n_jobs=n_jobs)
        search.fit(X["train"], y["train"])
        valid = average_precision_score(y["valid"],
                                        search.best_estimator_.predict_proba(X["valid"])[:, 1])
        best.append((valid, search.best_estimator_))
    chosen = max(best, key=lambda b: b[0])[1]
    chosen.predict_proba(X["test"])
    return time.perf_counter() - started


def run(customers: int, workdir: Path) -> dict:
    project = workdir / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(REPO / "expectations", workdir / "expectations")
    db, store = workdir / "bench.duckdb", workdir / "artifacts"
    env = {**os.environ, "DUCKDB_PATH": str(db), "MLMODELS_ARTIFACT_DIR": str(store),
           "MLMODELS_SIGNING_KEY_FILE": str(workdir / "signing.key"),
           "DBT_PROJECT_DIR": str(project), "DBT_PROFILES_DIR": str(REPO),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    subprocess.run([str(BIN / "mlmodels"), "generate-demo", "--db", str(db), "--customers",
                    str(customers)], check=True, stdout=subprocess.DEVNULL)
    # Everything training waits for (marts and their gates), then training, timed.
    dbt(env, project, "build", "--select", "+ml_churn__train", "--exclude", "ml_churn__train")
    # The preflight node runs first in the same dbt process and imports mlmodels.workflow (and
    # with it sklearn and the training modules), as this script imported them before its clock
    # starts; in a `dbt build` the first Python model pays that import once for every node.
    dbt(env, project, "run", "--select", "ml_churn__preflight", "ml_churn__train")
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    in_dbt = next(result["execution_time"] for result in results
                  if result["unique_id"].endswith(".ml_churn__train"))
    timed_import = ("import time; started = time.perf_counter(); from mlmodels import workflow; "
                    "print(time.perf_counter() - started)")
    import_s = float(subprocess.run([sys.executable, "-c", timed_import], check=True,
                                    capture_output=True, text=True).stdout)

    spec = specs.load(project / "ml" / "churn.yml")
    with duckdb.connect(str(db), read_only=True) as con:
        rows = training.rows_with_rule(con.table("ml_churn__training_set"), spec)
    spec, rows, _ = training.prepare(rows, spec)
    plain = plain_script(rows, spec)
    plain_parallel = plain_script(rows, spec, n_jobs=-1)
    return {"customers": customers, "labelled_rows": len(rows), "dbt_train_s": round(in_dbt, 1),
            "plain_script_s": round(plain, 1), "ratio": round(in_dbt / plain, 2),
            "workflow_import_s": round(import_s, 1),
            "ratio_with_import": round((in_dbt + import_s) / plain, 2),
            "plain_script_n_jobs_all_s": round(plain_parallel, 1),
            "ratio_to_n_jobs_all": round(in_dbt / plain_parallel, 2)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="+", default=[5000, 100_000])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    for customers in args.customers:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            result = run(customers, Path(tmp))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
