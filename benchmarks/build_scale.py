"""Demo build time and peak memory at several scales (not a test: run it by hand).

    .venv/bin/python benchmarks/build_scale.py --customers 100000 1000000

For each scale: generate the demo world into a fresh DuckDB file, then run `dbt build` on it, each
in its own process, and report wall time, peak RSS (sampled every 0.1 s over the process tree) and
the slowest dbt nodes (from target/run_results.json).
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

import psutil

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def measure(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in GiB of it and its children)."""
    # Output to a file, not a pipe: a chatty command (Spark's logs) would fill a pipe nobody
    # reads until it exits, and block.
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        process = psutil.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                               text=True)
        peak = 0
        while process.poll() is None:
            try:
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)
        if process.returncode != 0:
            log.seek(0)
            print(log.read()[-5000:])
            raise SystemExit(f"{' '.join(command)} failed with {process.returncode}")
    return time.perf_counter() - started, peak / 2**30


def run_scale(customers: int, workdir: Path) -> dict:
    project = workdir / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project,
                    ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(REPO / "expectations", workdir / "expectations")
    db = workdir / "bench.duckdb"
    env = {
        **os.environ,
        "DUCKDB_PATH": str(db),
        "MLMODELS_ARTIFACT_DIR": str(workdir / "artifacts"),
        "MLMODELS_EXPORT_DIR": str(workdir / "exports"),
        "MLMODELS_SIGNING_KEY_FILE": str(workdir / "signing.key"),
        "DBT_PROJECT_DIR": str(project),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    gen_time, gen_peak = measure(
        [str(BIN / "mlmodels"), "generate-demo", "--db", str(db), "--customers", str(customers)],
        env, workdir)
    build_time, build_peak = measure([str(BIN / "dbt"), "build"], env, project)
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    slowest = sorted(results, key=lambda r: -r["execution_time"])[:6]
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        counts = {t: con.sql(f"select count(*) from {t}").fetchall()[0][0] for t in [
            "raw.events", "feat_customer__as_of", "ml_churn__scores", "ml_churn__feature_drift"]}
    return {
        "customers": customers, "generate_s": gen_time, "generate_peak_gib": gen_peak,
        "build_s": build_time, "build_peak_gib": build_peak, "rows": counts,
        "slowest": [(r["unique_id"].split(".")[-1], round(r["execution_time"], 1)) for r in slowest],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    for customers in args.customers:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            result = run_scale(customers, Path(tmp))
        print(json.dumps(result), flush=True)
        print(f"{customers:>9,} customers: generate {result['generate_s']:.1f} s "
              f"(peak {result['generate_peak_gib']:.2f} GiB), dbt build {result['build_s']:.1f} s "
              f"(peak {result['build_peak_gib']:.2f} GiB); mart rows "
              f"{result['rows']['feat_customer__as_of']:,}; slowest {result['slowest']}",
              flush=True)


if __name__ == "__main__":
    main()
