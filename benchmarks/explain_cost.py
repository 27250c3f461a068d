"""The cost of reason codes: scoring time with and without explanations, per demo model.

    .venv/bin/python benchmarks/explain_cost.py --rows 200000   (after `make demo`)

Setup (not timed): for each demo spec (churn, spend) and each estimator its candidates name, fit
a Pipeline on the labelled rows of ``ml_<name>__training_set`` (the candidate's first grid
point) with its training reference, as training does; replicate the training set's rows to N rows
in Arrow. Timed: :func:`mlmodels.serve.scoring.score_batches` over those rows in batches of
``scoring.BATCH_ROWS``, with ``explain.top_k`` 0 and 3, interleaved, the median of --repeats.
Reported per model and estimator: rows/s without and with explanations, and the added share.
With the boosting extra installed, a LightGBM candidate (150 trees, its own TreeSHAP) is timed
too, for each model.
"""

import argparse
import importlib.util
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pyarrow as pa

from mlmodels.learn import explain, training
from mlmodels.learn.pipelines import build_pipeline, feature_frame
from mlmodels.serve import scoring
from mlmodels.spec import specs

REPO = Path(__file__).resolve().parents[1]


def fitted(con, spec, candidate):
    """A Pipeline of one candidate fitted on the labelled rows, with its training reference."""
    rows = training.rows_with_rule(con.table(f"ml_{spec.name}__training_set"), spec)
    rows = rows[rows[spec.target].notna()]
    spec = spec.resolve(list(rows.columns))
    params = {**candidate.params, **{k: v[0] for k, v in candidate.grid.items()}}
    X = feature_frame(rows, spec)
    pipeline = build_pipeline(spec, candidate.name, params).fit(X, rows[spec.target])
    explain.attach_reference(pipeline, X, spec)
    return pipeline, spec


def timed(pipeline, table, spec, top_k):
    """Seconds to score every row (read_all: the batches are produced and collected)."""
    spec = replace(spec, explain_top_k=top_k)
    reader = pa.RecordBatchReader.from_batches(
        table.schema, table.to_batches(max_chunksize=scoring.BATCH_ROWS))
    started = time.perf_counter()
    scoring.score_batches(pipeline, reader, spec, "v", threshold=0.5).read_all()
    return time.perf_counter() - started


def boosting_candidates(spec):
    """A LightGBM candidate of the spec's task, when the boosting extra is installed."""
    if importlib.util.find_spec("lightgbm") is None:
        return []
    name = "lightgbm.LGBMClassifier" if spec.is_classifier else "lightgbm.LGBMRegressor"
    return [SimpleNamespace(name=name, params={"n_estimators": 150, "num_leaves": 15}, grid={})]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--db", default=os.environ.get("DUCKDB_PATH",
                                                       str(REPO / "warehouse" / "demo.duckdb")))
    args = parser.parse_args()
    con = duckdb.connect(args.db, read_only=True)
    for name in ("churn", "spend"):
        spec = specs.load(REPO / "dbt_project" / "ml" / f"{name}.yml")
        base = con.table(f"ml_{name}__training_set").arrow()
        base = base.read_all() if isinstance(base, pa.RecordBatchReader) else base
        copies = -(-args.rows // base.num_rows)
        table = pa.concat_tables([base] * copies).slice(0, args.rows).combine_chunks()
        for candidate in [*spec.candidates, *boosting_candidates(spec)]:
            pipeline, resolved = fitted(con, spec, candidate)
            runs = {0: [], 3: []}
            for _ in range(args.repeats):  # interleaved: this machine's speed drifts
                for top_k, found in runs.items():
                    found.append(timed(pipeline, table, resolved, top_k))
            plain, explained = (sorted(found)[len(found) // 2] for found in runs.values())
            print(json.dumps({
                "model": name, "estimator": candidate.name, "rows": args.rows,
                "method": explain.Explainer(pipeline, resolved).method,
                "plain_s": round(plain, 2), "explained_s": round(explained, 2),
                "plain_rows_per_s": round(args.rows / plain),
                "explained_rows_per_s": round(args.rows / explained),
                "added_share": round(explained / plain - 1, 3),
            }), flush=True)


if __name__ == "__main__":
    main()
