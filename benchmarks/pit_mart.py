"""The point-in-time feature mart in SQL (the dbt model) against pandas (not a test: run it by hand).

    .venv/bin/python benchmarks/pit_mart.py --customers 100000 1000000

For each scale: generate the demo world into a fresh DuckDB file and build its staging views, then,
each in its own process (wall time and peak RSS of the process tree, sampled every 0.1 s):
(a) `dbt run --select feat_customer__as_of`: the demo mart, written as a table;
(b) the same features in pandas, written the way a careful user would write them without a
    warehouse: read the three staging tables into frames, then vectorised (no loop over rows):
    the as_of grid broadcast against sign-up and first cancellation, orders rolled up per
    customer and day in exact cents, cumulative sums looked up with `searchsorted` at each
    window's bounds, the plan at the cutoff by `merge_asof`.
Then every value of (b) is compared with the mart (integers and text exactly, doubles to 1e-12
relative); the script exits 1 if any differs, so the figures are for two programs that agree.
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
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_scale import measure

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WINDOWS = [7, 30, 90, 180]
KEYS = ["customer_id", "as_of_date"]


def read_staging(db: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three staging tables as pandas frames (what a pandas user starts from)."""
    with duckdb.connect(db, read_only=True) as con:
        return tuple(con.sql(f"select * from {name}").df() for name in [
            "stg_demo__customers", "stg_demo__events", "stg_demo__plan_history"])


def days(values) -> np.ndarray:
    """Timestamps (or dates) as whole days since 1970-01-01 (the day they fall on)."""
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def pandas_mart(customers: pd.DataFrame, events: pd.DataFrame, plans: pd.DataFrame,
                start: str) -> pd.DataFrame:
    """The demo mart's rows: one per customer alive at each monthly as_of from `start`."""
    customers = customers.sort_values("customer_id", ignore_index=True)
    ids = customers["customer_id"].to_numpy()
    grid = pd.date_range(start, events["occurred_at"].max().normalize(), freq="MS")

    # The spine: signed up before the as_of and not cancelled before it.
    cancelled = (events.loc[events["event_type"] == "cancellation"]
                 .groupby("customer_id")["occurred_at"].min())
    signup = customers["signup_at"].to_numpy()
    first_cancel = cancelled.reindex(ids).to_numpy()
    cutoffs = grid.to_numpy()
    alive = (signup[:, None] < cutoffs[None, :]) & ~(first_cancel[:, None] < cutoffs[None, :])
    code, step = np.nonzero(alive)
    as_of_day = days(cutoffs)[step]

    # Orders per customer and day, in exact integer cents; a day with an unknown amount is
    # unknown, and so is every window that holds it.
    orders = events.loc[events["event_type"] == "order"]
    orders = orders.loc[orders["customer_id"].isin(ids)]
    amount = orders["amount"].to_numpy(dtype=float)
    daily = (pd.DataFrame({
        "code": np.searchsorted(ids, orders["customer_id"].to_numpy()),
        "day": days(orders["occurred_at"]),
        "cents": np.where(np.isnan(amount), 0, np.rint(amount * 100)).astype(np.int64),
        "unknown": np.isnan(amount).astype(np.int64),
    }).groupby(["code", "day"], sort=True).agg(
        orders=("cents", "size"), cents=("cents", "sum"), unknown=("unknown", "sum"))
        .reset_index())
    offset = int(min(daily["day"].min(), as_of_day.min())) - 400
    span = 1 << 20  # days per customer in the packed key; far more than any calendar needs
    packed = daily["code"].to_numpy() * span + (daily["day"].to_numpy() - offset)
    running = {column: np.concatenate([[0], np.cumsum(daily[column].to_numpy())])
               for column in ["orders", "cents", "unknown"]}

    def first_at(day: np.ndarray) -> np.ndarray:
        """Position of each spine row's first order day on or after `day`."""
        return np.searchsorted(packed, code * span + (day - offset))

    def between(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Orders and revenue in cents (NaN when unknown) of the order days in [low, high)."""
        counts = running["orders"][high] - running["orders"][low]
        unknown = running["unknown"][high] - running["unknown"][low] > 0
        cents = running["cents"][high] - running["cents"][low]
        return counts, np.where(unknown, np.nan, cents)

    now = first_at(as_of_day)
    mart = {"customer_id": ids[code], "as_of_date": cutoffs[step],
            "tenure_days": as_of_day - days(signup)[code]}
    for window in WINDOWS:
        counts, cents = between(first_at(as_of_day - window), now)
        revenue = cents / 100
        mart[f"orders_{window}d"], mart[f"revenue_{window}d"] = counts, revenue
        if window >= 30:
            with np.errstate(invalid="ignore", divide="ignore"):
                mart[f"avg_order_value_{window}d"] = np.where(
                    counts == 0, np.nan, revenue / np.maximum(counts, 1))
        if window == 30:
            cents_30d = cents
    prev_counts, prev_cents = between(first_at(as_of_day - 60), first_at(as_of_day - 30))
    mart["orders_prev_30d"] = prev_counts
    mart["orders_trend_30d"] = (mart["orders_30d"] + 1) / (prev_counts + 1)
    # In cents, as the mart subtracts decimals: a difference of doubles would round near zero.
    mart["revenue_change_30d"] = (cents_30d - prev_cents) / 100
    first = first_at(np.full_like(as_of_day, offset))
    has_order = now > first
    last_day = np.where(has_order, daily["day"].to_numpy()[np.maximum(now - 1, 0)], 0)
    mart["days_since_last_order"] = pd.array(
        np.where(has_order, as_of_day - last_day, 0), dtype="Int64")
    mart["days_since_last_order"][~has_order] = pd.NA
    lifetime_counts, lifetime_cents = between(first, now)
    mart["orders_lifetime"] = lifetime_counts
    mart["revenue_lifetime"] = np.where(has_order, lifetime_cents / 100, 0.0)
    frame = pd.DataFrame(mart)

    # The plan at the cutoff: the latest plan row strictly before the as_of.
    history = plans.sort_values(["customer_id", "valid_from"], ignore_index=True)
    history["plans_so_far"] = history.groupby("customer_id").cumcount() + 1
    at_cutoff = pd.merge_asof(
        frame[KEYS].reset_index().sort_values("as_of_date"),
        history.sort_values("valid_from"), left_on="as_of_date", right_on="valid_from",
        by="customer_id", allow_exact_matches=False).set_index("index").sort_index()
    frame["plan"] = at_cutoff["plan"].to_numpy()
    frame["days_on_plan"] = pd.array(as_of_day - days(at_cutoff["valid_from"]), dtype="Int64")
    frame.loc[at_cutoff["valid_from"].isna().to_numpy(), "days_on_plan"] = pd.NA
    frame["plan_changes"] = at_cutoff["plans_so_far"].fillna(0).to_numpy(dtype=np.int64) - 1
    frame["region"] = customers["region"].to_numpy()[code]
    frame["acquisition_channel"] = customers["acquisition_channel"].to_numpy()[code]
    return frame


def run_pandas(db: str, out: str, start: str) -> None:
    """Child process: time the read and the computation, write the frame for the value check."""
    started = time.perf_counter()
    tables = read_staging(db)
    read_s = time.perf_counter() - started
    frame = pandas_mart(*tables, start)
    compute_s = time.perf_counter() - started - read_s
    frame.to_parquet(out)
    Path(out).with_suffix(".json").write_text(json.dumps({"read_s": read_s, "compute_s": compute_s}))


def differences(mart: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """Every column where the pandas frame differs from the mart (same rows in the same order)."""
    if len(mart) != len(frame) or not mart[KEYS].equals(frame[KEYS]):
        return [f"keys differ: mart {len(mart)} rows, pandas {len(frame)} rows"]
    found = []
    for column in mart.columns.drop(KEYS):
        ours, theirs = mart[column], frame[column]
        if ours.isna().ne(theirs.isna()).any():
            found.append(f"{column}: {(ours.isna() != theirs.isna()).sum()} nulls differ")
            continue
        known = ours.notna()
        if pd.api.types.is_float_dtype(ours):
            close = np.isclose(ours[known].to_numpy(float), theirs[known].to_numpy(float),
                               rtol=1e-12, atol=0)
            bad = int((~close).sum())
        else:
            bad = int((ours[known].astype(str).to_numpy()
                       != theirs[known].astype(str).to_numpy()).sum())
        if bad:
            found.append(f"{column}: {bad} values differ")
    return found


def run_scale(customers: int, workdir: Path, start: str) -> dict:
    project = workdir / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    db = workdir / "bench.duckdb"
    env = {**os.environ, "DUCKDB_PATH": str(db), "DBT_PROJECT_DIR": str(project),
           "DBT_PROFILES_DIR": str(REPO), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    subprocess.run([str(BIN / "mlmodels"), "generate-demo", "--db", str(db),
                    "--customers", str(customers)], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(BIN / "dbt"), "run", "--select", "staging"], env=env, cwd=project,
                   check=True, stdout=subprocess.DEVNULL)
    sql_s, sql_gib = measure([str(BIN / "dbt"), "run", "--select", "feat_customer__as_of"],
                             env, project)
    node = json.loads((project / "target" / "run_results.json").read_text())["results"][0]
    out = workdir / "pandas.parquet"
    pandas_s, pandas_gib = measure([sys.executable, __file__, "--pandas-child", str(db), str(out),
                                    "--start", start], env, workdir)
    with duckdb.connect(str(db), read_only=True) as con:
        mart = con.sql("select * from feat_customer__as_of order by all").df()
        events = con.sql("select count(*) from stg_demo__events").fetchall()[0][0]
    frame = pd.read_parquet(out).sort_values(KEYS, ignore_index=True)
    child = json.loads(out.with_suffix(".json").read_text())
    return {"customers": customers, "events": events, "mart_rows": len(mart),
            "sql_s": sql_s, "sql_node_s": node["execution_time"], "sql_peak_gib": sql_gib,
            "pandas_s": pandas_s, "pandas_read_s": child["read_s"],
            "pandas_compute_s": child["compute_s"], "pandas_peak_gib": pandas_gib,
            "differences": differences(mart.sort_values(KEYS, ignore_index=True), frame)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--start", default="2023-07-01", help="the demo's as_of_start var")
    parser.add_argument("--pandas-child", nargs=2, metavar=("DB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pandas_child:
        run_pandas(*args.pandas_child, args.start)
        return
    failed = False
    for customers in args.customers:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            result = run_scale(customers, Path(tmp), args.start)
        print(json.dumps(result), flush=True)
        print(f"{customers:>9,} customers, {result['events']:,} events, "
              f"{result['mart_rows']:,} mart rows: dbt model {result['sql_s']:.1f} s "
              f"(node {result['sql_node_s']:.1f} s, peak {result['sql_peak_gib']:.2f} GiB), "
              f"pandas {result['pandas_s']:.1f} s (read {result['pandas_read_s']:.1f} s, "
              f"compute {result['pandas_compute_s']:.1f} s, peak {result['pandas_peak_gib']:.2f} GiB): "
              f"SQL {result['pandas_s'] / result['sql_s']:.2f}x faster; "
              f"differences: {result['differences'] or 'none'}", flush=True)
        failed |= bool(result["differences"])
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
