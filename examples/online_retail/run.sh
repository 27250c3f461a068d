#!/usr/bin/env bash
# Build the Online Retail example end to end and print what it produced.
#
#   examples/online_retail/run.sh                                      # every landed file
#   examples/online_retail/run.sh --vars '{landing_through: "2011-10-31"}'   # files up to a day
#
# Arguments go to `dbt build`. The CSV files are read in place from ONLINE_RETAIL_LANDING
# (default: ../shared/datasets/online_retail/by-day beside the repository); the DuckDB file,
# the model artifacts and the Parquet exports go to examples/online_retail/warehouse/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="$repo/.venv/bin"
if [[ ! -x "$bin/dbt" ]]; then
    echo "no $bin/dbt: run 'make install' in $repo first" >&2
    exit 1
fi

export ONLINE_RETAIL_LANDING="${ONLINE_RETAIL_LANDING:-$(cd "$repo/.." && pwd)/shared/datasets/online_retail/by-day}"
if ! compgen -G "$ONLINE_RETAIL_LANDING/*.csv" > /dev/null; then
    echo "no CSV files in $ONLINE_RETAIL_LANDING: set ONLINE_RETAIL_LANDING to the folder of" \
         "the daily files (YYYY-MM-DD.csv)" >&2
    exit 1
fi

# Absolute paths, so dbt and the Python models find everything wherever they run from. Set here,
# not taken from the environment: a DUCKDB_PATH exported for the demo must not receive this build.
export DUCKDB_PATH="$here/warehouse/online_retail.duckdb"
export MLMODELS_ARTIFACT_DIR="$here/warehouse/artifacts"
export MLMODELS_EXPORT_DIR="$here/warehouse/exports"
export DBT_PROJECT_DIR="$here"
export DBT_PROFILES_DIR="$repo"
export DBT_SEND_ANONYMOUS_USAGE_STATS=false
mkdir -p "$here/warehouse"

cd "$here"
"$bin/dbt" deps --quiet  # the framework's dbt package is local (../../mlmodels/dbt): offline
started=$SECONDS
"$bin/dbt" build "$@"
echo "dbt build took $((SECONDS - started)) s"

"$bin/python" - "$DUCKDB_PATH" <<'PY'
import sys

import duckdb

with duckdb.connect(sys.argv[1], read_only=True) as con:
    def one(query):
        return con.sql(query).fetchall()[0]

    print(f"\nDuckDB file: {sys.argv[1]}")
    raw, distinct, no_customer = one(
        "select sum(raw_copies), count(*), count(*) filter (where customer_id is null)"
        " from stg_retail__invoice_lines")
    first, last = one("select min(landed_on), max(landed_on) from stg_retail__invoice_lines")
    print(f"landed lines {raw:,} ({first} .. {last}); exact duplicates removed {raw - distinct:,};"
          f" lines without a customer {no_customer:,}")
    for line_type, rows in con.sql("select line_type, count(*) from stg_retail__invoice_lines"
                                   " group by 1 order by 2 desc").fetchall():
        print(f"  {line_type:<13} {rows:>9,} distinct lines")
    for table in ["stg_retail__purchases", "feat_retail_customer__as_of",
                  "ml_churn__training_set", "ml_spend__training_set", "ml_churn__predictions",
                  "ml_spend__predictions", "ml_churn__feature_drift", "ml_spend__feature_drift"]:
        print(f"  {table:<28} {one(f'select count(*) from {table}')[0]:>9,} rows")
    print(con.sql("select model_name, split, count(*) as n_rows, count(distinct as_of_date)"
                  " as as_of_dates, min(as_of_date) as first_as_of, max(as_of_date) as last_as_of"
                  " from ("
                  " select 'churn' as model_name, split, as_of_date from ml_churn__training_set"
                  " union all"
                  " select 'spend', split, as_of_date from ml_spend__training_set)"
                  " group by all order by 1, 5"))
    registry = con.sql("select model_name, model_version, status, reason, selection_metric,"
                       " estimator, threshold from ml_model_registry order by model_name,"
                       " trained_at").fetchall()
    for name, version, status, reason, metric, estimator, threshold in registry:
        cut = "" if threshold is None else f", threshold {threshold:.3f}"
        print(f"model {name} {version} ({estimator}{cut}) [{status}]: {reason}")
        print(con.sql(f"""
            pivot (select split, model, value from ml_evaluation__metrics
                   where model_version = '{version}' and metric = '{metric}')
            on model in ('model', 'prior', 'linear', 'rule') using first(value)
            order by case split when 'train' then 1 when 'valid' then 2 else 3 end
        """).project(f"split as {metric}, round(model, 4) as model, round(prior, 4) as prior,"
                     " round(linear, 4) as linear, round(rule, 4) as rule"))
PY
