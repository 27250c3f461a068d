"""The Online Retail example (examples/online_retail) built on the real daily files.

One copy of the example is built twice, as files arrive: first with the files up to EARLIER
(`landing_through`), then with every file. The tests read what each build left.
"""

import os
import shutil

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from mlmodels.serve.promotion import features_of
from mlmodels.spec import specs
from tests.integration.helpers import REPO, Warehouse

DATASET = REPO.parent / "shared" / "datasets" / "online_retail"
LANDING = DATASET / "by-day"
EXAMPLE = REPO / "examples" / "online_retail"
EARLIER = "2011-10-31"  # the first build reads the files up to this day
PREDICTION_KEYS = ["model_version", "role", "customer_id", "as_of_date"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not LANDING.is_dir(),
        reason=f"the UCI Online Retail files are not at {LANDING} (../shared beside the repo)",
    ),
]


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """The example built on the files up to EARLIER, then on every file; and the first state."""
    root = tmp_path_factory.mktemp("online_retail")
    project = root / "online_retail"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(
        "warehouse", "target", "logs", "dbt_packages", "package-lock.yml"))
    (project / "packages.yml").write_text(f"packages:\n  - local: {REPO / 'mlmodels' / 'dbt'}\n")
    warehouse = Warehouse(project=project, db=root / "warehouse.duckdb",
                          artifacts=root / "artifacts")
    saved = os.environ.get("ONLINE_RETAIL_LANDING")
    os.environ["ONLINE_RETAIL_LANDING"] = str(LANDING)
    try:
        warehouse.dbt("deps")
        warehouse.build("--vars", f"{{landing_through: '{EARLIER}'}}")
        first = {
            "landed_until": warehouse.sql(
                "select max(landed_on) as day from stg_retail__invoice_lines").day[0],
            "features": warehouse.sql("select * from feat_retail_customer__as_of"),
            **{f"{m}_predictions": warehouse.sql(f"select * from ml_{m}__predictions")
               for m in ("churn", "spend")},
        }
        warehouse.build()
    finally:
        if saved is None:
            os.environ.pop("ONLINE_RETAIL_LANDING", None)
        else:
            os.environ["ONLINE_RETAIL_LANDING"] = saved
    return warehouse, first


def read_landing_zone() -> pd.DataFrame:
    """Every line of every daily file, read with pandas (independently of DuckDB)."""
    return pd.concat(
        [pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "Description": str,
                                  "Country": str})
         for path in sorted(LANDING.glob("*.csv"))],
        ignore_index=True,
    )


def test_staging_removes_what_pandas_counts(landed):
    warehouse, _ = landed
    raw = read_landing_zone()
    lines = raw.drop_duplicates()
    cancellation = lines.InvoiceNo.str.startswith("C")
    adjustment = lines.InvoiceNo.str.startswith("A")
    unpriced = ~cancellation & ~adjustment & (lines.UnitPrice <= 0)
    purchase = ~cancellation & ~adjustment & ~unpriced
    assert (lines.Quantity[purchase] > 0).all()
    expected = {"purchase": purchase.sum(), "cancellation": cancellation.sum(),
                "adjustment": adjustment.sum(), "unpriced": unpriced.sum()}
    sales = lines[purchase & lines.CustomerID.notna()]

    staged = warehouse.sql("select sum(raw_copies) as raw, count(*) as lines,"
                           " count(*) filter (where line_type = 'purchase'"
                           " and customer_id is null) as purchases_without_customer"
                           " from stg_retail__invoice_lines").iloc[0]
    assert staged.raw == len(raw) == 541_909
    assert len(raw) - staged.lines == len(raw) - len(lines) == 5_268  # exact duplicates
    by_type = warehouse.sql("select line_type, count(*) as n from stg_retail__invoice_lines"
                            " group by 1").set_index("line_type").n.to_dict()
    assert by_type == expected
    assert staged.purchases_without_customer == (purchase & lines.CustomerID.isna()).sum()

    purchases = warehouse.sql("select count(*) as n, sum(amount) as amount,"
                              " count(*) filter (where starts_with(invoice_no, 'C')"
                              " or unit_price <= 0 or quantity <= 0 or customer_id is null)"
                              " as not_sales from stg_retail__purchases").iloc[0]
    assert purchases.n == len(sales)
    assert purchases.not_sales == 0
    assert float(purchases.amount) == pytest.approx((sales.Quantity * sales.UnitPrice).sum(),
                                                    rel=1e-9)
    duplicates = warehouse.sql(
        "select count(*) as n from (select invoice_no, stock_code, description, quantity,"
        " unit_price, invoiced_at, customer_id, country from stg_retail__purchases"
        " group by all having count(*) > 1)").n[0]
    assert duplicates == 0


def test_the_example_builds_to_predictions_and_drift(landed):
    warehouse, _ = landed
    registry = warehouse.sql("select model_name, status, reason from ml_model_registry")
    # On one year of real data the spend forecast loses to "the last 90 days repeat": the
    # framework rejects it, scores nothing for it, and the build goes on (has_champion warns).
    spend = registry[registry.model_name == "spend"]
    assert (spend.status == "rejected").all()
    assert spend.reason.str.contains("does not beat the rule").all()
    assert (registry[registry.model_name == "churn"].status == "champion").sum() == 1
    assert len(warehouse.sql("select * from ml_spend__predictions")) == 0
    latest = warehouse.sql("select max(as_of_date) as d from feat_retail_customer__as_of").d[0]
    predictions = warehouse.sql("select * from ml_churn__predictions")
    assert predictions.score.notna().all()
    assert not predictions.duplicated(PREDICTION_KEYS).any()
    # The newest as_of is scored for exactly the customers the mart holds at it.
    champion = warehouse.sql("select * from ml_model_registry where model_name = 'churn'"
                             " and status = 'champion'").iloc[0]
    live = predictions[(predictions.as_of_date == latest)
                       & (predictions.model_version == champion.model_version)]
    mart = warehouse.sql("select customer_id from feat_retail_customer__as_of"
                         f" where as_of_date = date '{latest:%Y-%m-%d}'")
    assert len(mart) and sorted(live.customer_id) == sorted(mart.customer_id)
    # Drift: a row per drifted feature of the spec and as_of the champion scored, no other.
    spec = features_of(specs.load(warehouse.project / "ml" / "churn.yml"), champion.to_dict())
    drifted = set(spec.features) - set(spec.drift_exclude)
    assert {"days_since_last_order", "revenue_90d"} <= drifted
    scored = set(predictions[predictions.model_version == champion.model_version].as_of_date)
    drift = warehouse.sql("select feature, as_of_date from ml_churn__feature_drift"
                          f" where model_version = '{champion.model_version}'")
    assert len(drift) == len(drifted) * len(scored)
    assert set(zip(drift.feature, drift.as_of_date, strict=True)) == {
        (f, d) for f in drifted for d in scored}
    assert (warehouse.artifacts.parent / "exports" / "ml_churn__predictions.parquet").is_file()


def test_a_later_landing_adds_as_ofs_and_keeps_earlier_predictions(landed):
    warehouse, first = landed
    assert pd.Timestamp(first["landed_until"]) == pd.Timestamp(EARLIER)
    first_as_ofs = set(first["features"].as_of_date)
    features = warehouse.sql("select * from feat_retail_customer__as_of")
    assert max(features.as_of_date) > max(first_as_ofs)

    # Point in time: files that land later hold later days only, so no feature of an as_of the
    # first build saw changes.
    keys = ["customer_id", "as_of_date"]
    again = features[features.as_of_date.isin(first_as_ofs)].sort_values(keys)
    assert_frame_equal(again.reset_index(drop=True),
                       first["features"].sort_values(keys).reset_index(drop=True))

    # Churn's predictions (spend has no champion: nothing to keep).
    before = first["churn_predictions"].sort_values(PREDICTION_KEYS)
    after = warehouse.sql("select * from ml_churn__predictions")
    assert set(after.as_of_date) - set(before.as_of_date), "churn: no new as_of scored"
    assert max(after.as_of_date) == max(features.as_of_date)
    # What the first build predicted is still there, row for row.
    kept = before[PREDICTION_KEYS].merge(after, on=PREDICTION_KEYS, how="left")
    assert_frame_equal(kept[before.columns].reset_index(drop=True),
                       before.reset_index(drop=True))
