"""PSI of 20 features over 10M rows: the dbt macro, the numpy reference and Evidently, side by side.

    .venv/bin/python benchmarks/psi.py --evidently-python /tmp/evidently-venv/bin/python
    .venv/bin/python benchmarks/psi.py --rows 200000 --train-rows 100000   # smoke run, seconds

Setup (not timed): generate, from a seeded numpy generator, 20 numeric features of varied shape
(normal, lognormal, Pareto, Poisson counts with many ties, 0/1, a large mass at 0, uniform, ...),
a reference (train) of `--train-rows` rows and `--rows` current rows spread evenly over `--as-ofs`
as_of dates, nine features shifting more with each later as_of. Write them to a DuckDB file with
the reference bins of `mlmodels.drift.reference_bins` (fitted on train) and a one-version registry
whose train_to precedes every as_of, and to Parquet files for Evidently. Then, in this one run:
(1) SQL: `dbt run` of a throwaway dbt project named `mlmodels` whose macro-paths hold a copy of the
    framework's macros folder and whose one model calls `mlmodels.feature_psi` on those tables, as
    a user's project does; timed as the whole command (start, parse, run) and as the model's own
    execution_time from target/run_results.json;
(2) numpy: `mlmodels.drift.psi(reference, current)` per feature per as_of on arrays in memory, and
    the same including reading train and rows from the DuckDB file into numpy;
(3) Evidently (only with --evidently-python, a separate venv: Evidently does not support pandas 3):
    a subprocess in that venv reads the Parquet files and runs `psi_stat_test` per feature per
    as_of with its default binning, then again on each value's reference decile bucket (passed as a
    categorical code), which gives it the bins of (1) and (2).
Reported: seconds, the ratio to the SQL model's execution time, and the max |PSI - numpy| over all
feature x as_of. SQL must agree with numpy to 1e-9, or the script exits non-zero. Evidently's
default values are also compared with a numpy reimplementation of its binning (below), which
shows whether binning and its zero-share rule explain the whole difference. DuckDB uses both cores;
numpy and Evidently use one.
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from mlmodels.learn import drift

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOLERANCE = 1e-9
FIRST_AS_OF = datetime.date(2025, 1, 5)
TRAIN_TO = datetime.date(2024, 12, 31)

# name: (shape, values for n rows at shift s in [0, 1]: 0 at the first as_of, 1 at the last)
FEATURES = {
    "normal": ("normal, stable", lambda g, n, s: g.normal(0, 1, n)),
    "normal_mean": ("normal, mean +0.6 sd", lambda g, n, s: g.normal(0.6 * s, 1, n)),
    "normal_sd": ("normal, sd x1.5", lambda g, n, s: g.normal(0, 1 + 0.5 * s, n)),
    "lognormal": ("lognormal (skewed), stable", lambda g, n, s: g.lognormal(0, 1, n)),
    "lognormal_mu": ("lognormal, log-mean +0.5", lambda g, n, s: g.lognormal(0.5 * s, 1, n)),
    "pareto": ("Pareto 2.5 (heavy tail), stable", lambda g, n, s: g.pareto(2.5, n) + 1),
    "student_t": ("Student t(3), stable", lambda g, n, s: g.standard_t(3, n)),
    "exponential": ("exponential, stable", lambda g, n, s: g.exponential(1, n)),
    "gamma_shape": ("gamma, shape 2 -> 2.8", lambda g, n, s: g.gamma(2 + 0.8 * s, 1, n)),
    "uniform": ("uniform [0, 1), stable", lambda g, n, s: g.random(n)),
    "uniform_slide": ("uniform, slides +0.2 (empty bins)", lambda g, n, s: g.random(n) + 0.2 * s),
    "poisson_small": ("Poisson(0.7) ints, ties, stable", lambda g, n, s: g.poisson(0.7, n)),
    "poisson_mean": ("Poisson ints, mean 1.5 -> 2.5", lambda g, n, s: g.poisson(1.5 + s, n)),
    "has_flag": ("0/1 ints, ones 30% -> 45%", lambda g, n, s: (g.random(n) < 0.3 + 0.15 * s) * 1),
    "day_of_month": ("ints 1..31, uniform, stable", lambda g, n, s: g.integers(1, 32, n)),
    "zero_mass": ("60% zeros, else lognormal; stable",
                  lambda g, n, s: np.where(g.random(n) < 0.6, 0.0, g.lognormal(3, 1, n))),
    "zero_mass_drop": ("zeros 60% -> 45%, else lognormal",
                       lambda g, n, s: np.where(g.random(n) < 0.6 - 0.15 * s, 0.0,
                                                g.lognormal(3, 1, n))),
    "amount": ("lognormal in cents (ties), stable",
               lambda g, n, s: np.round(g.lognormal(3, 1.2, n), 2)),
    "bimodal": ("normals at -2/+2, weight .5 -> .35",
                lambda g, n, s: np.where(g.random(n) < 0.5 - 0.15 * s, g.normal(-2, 1, n),
                                         g.normal(2, 1, n))),
    "beta": ("beta(2, 5), stable", lambda g, n, s: g.beta(2, 5, n)),
}

MODEL_SQL = """{{ config(materialized='table') }}
{{ mlmodels.feature_psi(
    reference_bins=source('bench', 'reference_bins'),
    registry=source('bench', 'registry'),
    rows=source('bench', 'bench_rows'),
    model_name='bench',
    as_of_col='as_of_date',
) }}
"""

CHILD = """
import json, sys, time
from pathlib import Path
import numpy as np, pandas as pd
import evidently
from evidently.legacy.calculations.stattests import psi_stat_test
from evidently.legacy.core import ColumnType
workdir = Path(sys.argv[1])
edges = json.loads((workdir / "inner_edges.json").read_text())
started = time.perf_counter()  # timed: read Parquet into pandas, one frame per as_of
train = pd.read_parquet(workdir / "train.parquet")
current = dict(tuple(pd.read_parquet(workdir / "rows.parquet").groupby("as_of_date", sort=True)))
read_s = time.perf_counter() - started
started = time.perf_counter()  # timed: Evidently's PSI with its defaults
default = {f"{f}|{d}": float(psi_stat_test(train[f], rows[f], ColumnType.Numerical, None)
                             .drift_score) for d, rows in current.items() for f in edges}
default_s = time.perf_counter() - started
started = time.perf_counter()  # timed: the same on each value's reference decile bucket
code = lambda values, f: pd.Series(np.searchsorted(edges[f], values.to_numpy(), side="right"))
train_codes = {f: code(train[f], f) for f in edges}
deciles = {f"{f}|{d}": float(psi_stat_test(train_codes[f], code(rows[f], f),
                                           ColumnType.Categorical, None).drift_score)
           for d, rows in current.items() for f in edges}
deciles_s = time.perf_counter() - started
print(json.dumps({"version": evidently.__version__, "read_s": read_s, "default_s": default_s,
                  "deciles_s": deciles_s, "default": default, "deciles": deciles}))
"""


def macros_folder() -> Path:
    """The framework's macros: the dbt package folder if present, else the demo project's."""
    for folder in (REPO / "mlmodels" / "dbt" / "macros", REPO / "dbt_project" / "macros"):
        if (folder / "feature_psi.sql").exists():
            return folder
    raise SystemExit("feature_psi.sql not found under mlmodels/dbt/macros or dbt_project/macros")


def as_of_dates(count: int) -> list[datetime.date]:
    return [FIRST_AS_OF + datetime.timedelta(weeks=k) for k in range(count)]


def generate(db: Path, workdir: Path, rows: int, train_rows: int, as_ofs: int, seed: int) -> None:
    """Write train, rows, reference bins and registry to DuckDB, train and rows to Parquet."""
    names = list(FEATURES)

    def columns(g: np.random.Generator, n: int, s: float) -> dict[str, np.ndarray]:
        return {f: FEATURES[f][1](g, n, s) for f in names}

    train = pd.DataFrame(columns(np.random.default_rng([seed, 0]), train_rows, 0.0))
    bins = drift.reference_bins(train, numeric=names, categorical=[])
    bins.insert(0, "model_version", "v1")
    bins.insert(0, "model_name", "bench")
    with duckdb.connect(str(db)) as con:
        con.execute("create table bench_train as select * from train")
        con.execute("""create table reference_bins as select model_name::varchar as model_name,
            model_version::varchar as model_version, feature::varchar as feature,
            feature_type::varchar as feature_type, bin_index::integer as bin_index,
            lower_edge::double as lower_edge, upper_edge::double as upper_edge,
            category::varchar as category, reference_count::bigint as reference_count,
            reference_total::bigint as reference_total from bins""")
        con.execute("create table registry as select 'bench' as model_name, "
                    "'v1' as model_version, ?::date as train_to", [TRAIN_TO])
        sizes = [len(part) for part in np.array_split(np.arange(rows), as_ofs)]
        for k, (as_of, n) in enumerate(zip(as_of_dates(as_ofs), sizes, strict=True)):
            shift = k / max(as_ofs - 1, 1)
            chunk = pd.DataFrame(columns(np.random.default_rng([seed, k + 1]), n, shift))
            chunk.insert(0, "as_of_date", as_of)
            if k == 0:
                con.execute("create table bench_rows as "
                            "select as_of_date::date as as_of_date, * exclude (as_of_date) "
                            "from chunk")
            else:
                con.execute("insert into bench_rows by name select * from chunk")
        con.execute(f"copy bench_train to '{workdir / 'train.parquet'}' (format parquet)")
        con.execute(f"""copy (select strftime(as_of_date, '%Y-%m-%d') as as_of_date,
            * exclude (as_of_date) from bench_rows) to '{workdir / 'rows.parquet'}'
            (format parquet)""")
    # Bucket i of the reference bins is [edge i-1, edge i) over these nine inner edges.
    inner = {f: group.sort_values("bin_index")["upper_edge"].tolist()[:-1]
             for f, group in bins.groupby("feature")}
    (workdir / "inner_edges.json").write_text(json.dumps(inner))


def run_sql(db: Path, workdir: Path) -> tuple[float, float, dict[str, float]]:
    """`dbt run` of a throwaway project calling mlmodels.feature_psi; (wall s, model s, psi)."""
    project = workdir / "psi_project"
    shutil.copytree(macros_folder(), project / "macros")
    (project / "models").mkdir()
    (project / "dbt_project.yml").write_text(
        "name: mlmodels\nversion: '0.1.0'\nconfig-version: 2\nprofile: mlmodels\n"
        "model-paths: [models]\nmacro-paths: [macros]\n"
        "flags: {send_anonymous_usage_stats: false}\n")
    (project / "profiles.yml").write_text(
        f"mlmodels:\n  target: bench\n  outputs:\n    bench:\n      type: duckdb\n"
        f"      path: '{db}'\n      threads: 1\n")
    (project / "models" / "sources.yml").write_text(
        "version: 2\nsources:\n  - name: bench\n    schema: main\n    tables:\n"
        "      - name: reference_bins\n      - name: registry\n      - name: bench_rows\n")
    (project / "models" / "bench_feature_drift.sql").write_text(MODEL_SQL)
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    started = time.perf_counter()
    run = subprocess.run([str(BIN / "dbt"), "run", "--project-dir", str(project),
                          "--profiles-dir", str(project)], env=env, cwd=project,
                         capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"dbt run failed:\n{run.stdout[-5000:]}{run.stderr[-3000:]}")
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    model = sum(r["execution_time"] for r in results)
    with duckdb.connect(str(db), read_only=True) as con:
        found = con.sql("select feature, strftime(as_of_date, '%Y-%m-%d'), psi "
                        "from bench_feature_drift").fetchall()
    return wall, model, {f"{f}|{d}": psi for f, d, psi in found}


def run_numpy(db: Path, as_ofs: int) -> tuple[float, float, dict[str, tuple]]:
    """Read train and rows into numpy, then mlmodels.drift.psi per feature per as_of."""
    started = time.perf_counter()
    with duckdb.connect(str(db), read_only=True) as con:
        train = con.table("bench_train").fetchnumpy()
        current = {d.isoformat(): con.execute(
            f"select {', '.join(FEATURES)} from bench_rows where as_of_date = ?", [d]).fetchnumpy()
            for d in as_of_dates(as_ofs)}
    read = time.perf_counter() - started
    started = time.perf_counter()
    psi = {f"{f}|{d}": drift.psi(train[f], rows[f]) for d, rows in current.items()
           for f in FEATURES}
    compute = time.perf_counter() - started
    return read, compute, {"psi": psi, "train": train, "current": current}


def run_evidently(python: str, workdir: Path) -> dict:
    run = subprocess.run([python, "-c", CHILD, str(workdir)], capture_output=True, text=True,
                         check=False)
    if run.returncode != 0:
        raise SystemExit(f"Evidently run failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def evidently_binning_psi(reference: np.ndarray, current: np.ndarray, distinct: int) -> float:
    """PSI binned as Evidently 0.7's get_binned_data does, reimplemented to explain its values.

    More than 20 distinct reference values: np.histogram_bin_edges(reference + current,
    "sturges"), i.e. equal-width bins over the pooled min..max, ceil(log2(n_ref + n_cur)) + 1 of
    them; otherwise one bin per value seen on either side. Shares are count / n with no
    smoothing; an empty bin's share becomes min(nonzero share) / 1e6 if that is <= 1e-4, else
    1e-4. PSI is sum((ref - cur) * ln(ref / cur)), the same formula as mlmodels.drift.psi.
    """
    if distinct > 20:
        edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
        ref = np.histogram(reference, edges)[0] / len(reference)
        cur = np.histogram(current, edges)[0] / len(current)
    else:
        keys = np.union1d(reference, current)
        ref = np.bincount(np.searchsorted(keys, reference), minlength=len(keys)) / len(reference)
        cur = np.bincount(np.searchsorted(keys, current), minlength=len(keys)) / len(current)
    for shares in (ref, cur):
        smallest = shares[shares > 0].min()
        shares[shares == 0] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def one_sided_empty(train: dict, current: dict, feature: str, as_of: str) -> bool:
    """Whether a reference decile bucket is empty on one side only (smoothing then decides PSI)."""
    edges = drift.decile_edges(np.asarray(train[feature], dtype=float))
    ref = np.histogram(train[feature], edges)[0]
    cur = np.histogram(current[as_of][feature], edges)[0]
    return bool(np.any((ref == 0) != (cur == 0)))


def max_diff(got: dict[str, float], want: dict[str, float]) -> float:
    if set(got) != set(want):
        raise SystemExit(f"different feature x as_of keys: {sorted(set(got) ^ set(want))[:5]}")
    return max(abs(got[k] - want[k]) for k in want)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000, help="current rows, all as_ofs")
    parser.add_argument("--train-rows", type=int, default=1_000_000, help="reference rows")
    parser.add_argument("--as-ofs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20250105)
    parser.add_argument("--evidently-python", default=None,
                        help="python of a venv with evidently (and pandas<3); else skipped")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        db = workdir / "bench.duckdb"
        started = time.perf_counter()
        generate(db, workdir, args.rows, args.train_rows, args.as_ofs, args.seed)
        print(f"setup (generate, DuckDB, Parquet): {time.perf_counter() - started:.1f} s; "
              f"macros from {macros_folder().relative_to(REPO)}", flush=True)
        sql_wall, sql_model, sql = run_sql(db, workdir)
        np_read, np_compute, numpy_run = run_numpy(db, args.as_ofs)
        reference = numpy_run["psi"]
        evidently = run_evidently(args.evidently_python, workdir) if args.evidently_python else None

    def line(name: str, seconds: float, diff: float | str) -> None:
        diff = diff if isinstance(diff, str) else f"{diff:.1e}"
        print(f"{name:<48} {seconds:>9.2f} {seconds / sql_model:>12.2f} {diff:>20}")

    sql_diff = max_diff(sql, reference)
    values = np.array(list(reference.values()))
    print(f"\nPSI of {len(FEATURES)} features x {args.as_ofs} as_of: {args.rows:,} current rows, "
          f"{args.train_rows:,} reference rows; numpy PSI from {values.min():.1e} "
          f"to {values.max():.2f}")
    print(f"{'implementation':<48} {'time (s)':>9} {'ratio vs SQL':>12} "
          f"{'max |dPSI| vs numpy':>20}")
    line("SQL: dbt run, whole command", sql_wall, sql_diff)
    line("SQL: feature_psi model (run_results.json)", sql_model, sql_diff)
    line("numpy: mlmodels.drift.psi, arrays in memory", np_compute, 0.0)
    line("numpy: incl. reading DuckDB into numpy", np_read + np_compute, 0.0)
    if evidently is None:
        print("Evidently: skipped (pass --evidently-python /tmp/evidently-venv/bin/python)")
    else:
        version = evidently["version"]
        line(f"Evidently {version} psi_stat_test, defaults", evidently["default_s"],
             max_diff(evidently["default"], reference))
        line("Evidently: incl. reading Parquet into pandas", evidently["read_s"]
             + evidently["default_s"], max_diff(evidently["default"], reference))
        line("Evidently on the reference decile buckets", evidently["deciles_s"],
             max_diff(evidently["deciles"], reference))
        train, current = numpy_run["train"], numpy_run["current"]
        distinct = {f: len(np.unique(train[f])) for f in FEATURES}
        rebinned = {f"{f}|{d}": evidently_binning_psi(train[f], rows[f], distinct[f])
                    for d, rows in current.items() for f in FEATURES}
        print(f"\nEvidently defaults vs numpy with Evidently's binning reimplemented: max |dPSI| "
              f"{max_diff(evidently['default'], rebinned):.1e}")
        one_sided = {k for k in reference if one_sided_empty(train, current, *k.split("|"))}
        for label, keys in (("no bucket empty on one side only", set(reference) - one_sided),
                            ("a bucket empty on one side only", one_sided)):
            if keys:
                diff = max_diff({k: evidently["deciles"][k] for k in keys},
                                {k: reference[k] for k in keys})
                features = ", ".join(sorted({k.split("|")[0] for k in keys}))
                print(f"Evidently on the decile buckets vs numpy, {len(keys)} feature x as_of "
                      f"with {label}: max |dPSI| {diff:.1e}"
                      + (f" ({features})" if keys == one_sided else ""))
        last = as_of_dates(args.as_ofs)[-1].isoformat()
        print(f"PSI at the last as_of ({last}):")
        print(f"{'feature':<16} {'shape':<36} {'numpy/SQL':>10} {'Evidently':>10} "
              f"{'its bins':>9}")
        for f, (shape, _) in FEATURES.items():
            key = f"{f}|{last}"
            bins = "values" if distinct[f] <= 20 else "sturges"
            print(f"{f:<16} {shape:<36} {reference[key]:>10.4f} {evidently['default'][key]:>10.4f} "
                  f"{bins:>9}")
    if not sql_diff <= TOLERANCE:
        raise SystemExit(f"SQL and numpy PSI differ by {sql_diff:.2e} > {TOLERANCE:.0e}")


if __name__ == "__main__":
    main()
