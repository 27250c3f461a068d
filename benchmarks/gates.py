"""The mart gate against GX validating each partition, at scale: time and peak memory.

    make demo                                   # builds warehouse/demo.duckdb
    .venv/bin/python benchmarks/gates.py --rows 1000000 10000000

For each scale, the demo's feature mart (``feat_customer__as_of``, 24 monthly as_of partitions)
is replicated with fresh customer ids up to that many rows in a scratch DuckDB file, then
validated against the demo's suite ``expectations/feat_customer__as_of.json``, each method in a
subprocess of its own so its peak RSS is its own:

(a) ``gate``: ``mlmodels.quality.validate_chunked`` as the gate model calls it: row-level and
    table-level expectations over chunks of at most 1M rows of whole partitions, partition-level
    expectations from one SQL aggregate over every partition checked by one GX run;
(b) ``per_partition``: what the gate did before, and what a user would write by hand: each
    partition read into pandas and validated by GX against the whole suite (partition-level
    expectations need a partition's rows; uniqueness then only holds within a partition).

Both methods import GX before the clock starts; the import (about 2 s) is the same for both.
DuckDB's memory limit is 1GB in both, so that peak RSS is the validation's, not the cache's.
Both exit non-zero if the partition-level results differ (success, per partition).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "expectations" / "feat_customer__as_of.json"
MART = "feat_customer__as_of"
MEMORY_LIMIT = "1GB"


def replicate(source: Path, target: Path, rows: int) -> int:
    """Write ``mart`` into target: the source mart copied with new customer ids, ``rows`` rows."""
    con = duckdb.connect(str(target))
    con.execute(f"attach '{source}' as source (read_only)")
    base = con.execute(f"select count(*) from source.{MART}").fetchone()[0]
    copies = -(-rows // base)
    con.execute(f"""
        create or replace table mart as
        select * replace (customer_id + copy * 100000000 as customer_id)
        from source.{MART}, (select range as copy from range({copies}))
        order by as_of_date, customer_id
        limit {rows}
    """)
    return con.execute("select count(*) from mart").fetchone()[0]


def run_method(method: str, db: str) -> dict:
    """Validate the mart one way (in this process); return seconds and partition outcomes."""
    from mlmodels.quality import validation

    validation._gx()
    suite = validation.load_suite(SUITE)
    con = duckdb.connect(db, read_only=True)
    # DuckDB's buffer pool would otherwise keep the table's blocks cached up to 80% of RAM;
    # capped, peak RSS shows what the validation itself holds.
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    relation = con.table("mart")
    started = time.perf_counter()
    if method == "gate":
        results = validation.validate_chunked(relation, suite, "as_of_date")
    else:
        days = [day for (day,) in relation.aggregate("as_of_date").order("as_of_date").fetchall()]
        results = [validation.validate(relation.filter(f"as_of_date = '{day}'").df(), suite,
                                    partition=day.isoformat()) for day in days]
        import pandas as pd

        results = pd.concat(results, ignore_index=True)
    seconds = time.perf_counter() - started
    parts = results[results.partition.notna()
                    & results.expectation.isin(validation.PARTITION_LEVEL)]
    outcomes = sorted(zip(parts.partition, parts.expectation, parts.kwargs,
                          parts.success.astype(bool), strict=True))
    return {"seconds": seconds, "rows": int(relation.aggregate("count(*)").fetchall()[0][0]),
            "outcomes": [list(o) for o in outcomes]}


def measure(method: str, db: str) -> dict:
    """Run one method in a subprocess; return its result with its peak RSS in GiB."""
    child = subprocess.run([sys.executable, __file__, "--method", method, "--db", db],
                           capture_output=True, text=True, check=False)
    if child.returncode != 0:
        sys.exit(f"{method} failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--source", default=str(REPO / "warehouse" / "demo.duckdb"))
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        result = run_method(args.method, args.db)
        from peak_memory import peak_rss_gib  # this folder is sys.path[0] when run as a script

        result["peak_gib"] = peak_rss_gib()
        print(json.dumps(result))
        return 0
    if not Path(args.source).is_file():
        sys.exit(f"{args.source} not found: run `make demo` first")
    print(f"{'rows':>11} {'method':>14} {'seconds':>8} {'peak GiB':>9}")
    status = 0
    with tempfile.TemporaryDirectory() as scratch:
        for rows in args.rows:
            db = str(Path(scratch) / f"mart_{rows}.duckdb")
            replicate(Path(args.source), Path(db), rows)
            measured = {method: measure(method, db) for method in ("gate", "per_partition")}
            for method, result in measured.items():
                print(f"{result['rows']:>11,} {method:>14} {result['seconds']:>8.2f} "
                      f"{result['peak_gib']:>9.2f}")
            gate, by_hand = measured["gate"], measured["per_partition"]
            print(f"{'':>11} {'ratio':>14} {by_hand['seconds'] / gate['seconds']:>7.2f}x")
            if gate["outcomes"] != by_hand["outcomes"]:
                print("partition-level outcomes differ", file=sys.stderr)
                status = 1
            Path(db).unlink()
    return status


if __name__ == "__main__":
    sys.exit(main())
