"""`monitoring.retrain_on_signal`: the train step of the next build follows the retrain signal.

New data alone trains nothing while the signal is quiet; once a build's signal recommends
retraining, the next build trains a new version (which still has to win promotion).
"""

import pytest

from mlmodels import scaffold
from tests.integration.helpers import new_warehouse

pytestmark = pytest.mark.slow

VERSIONS = "select model_version, status from ml_model_registry where model_name = 'churn'"
LATEST_SIGNAL = ("select retrain_recommended from ml_churn__retrain_signal"
                 " order by as_of_date desc limit 1")
CHURN_ONLY = ("--select", "+ml_churn__retrain_signal")


def set_monitoring(warehouse, rate_gap: float) -> None:
    """Monitor churn with only the rate reason, at the given gap (no drift or AUC reason)."""
    path = warehouse.project / "ml" / "churn.yml"
    text = path.read_text()
    text = text.split("\nmonitoring:")[0].replace(
        "tier1: [days_since_last_order, orders_30d, avg_order_value_30d]", "tier1: []")
    # Deployed fitted on train only, so the first build backfills matured as_ofs: the rate
    # reason has labelled history to fire on.
    path.write_text(text + "\nmonitoring: {retrain_on_signal: true, performance_margin: 1.0, "
                    f"rate_gap: {rate_gap}}}\ndeploy: {{refit: train}}\n")


def test_new_data_trains_only_once_the_signal_says_so(tmp_path):
    warehouse = new_warehouse(tmp_path)
    set_monitoring(warehouse, rate_gap=100)  # the rate reason cannot fire
    scaffold.write(warehouse.project, "churn", force=True)  # the signal model carries the gap
    warehouse.build(*CHURN_ONLY)
    first = warehouse.sql(VERSIONS)
    assert len(first) == 1 and not warehouse.sql(LATEST_SIGNAL).retrain_recommended[0]

    # New labelled data: without the flag this would be a new version.
    warehouse.raw("insert into raw.events select 990000000 + customer_id, customer_id, 'order',"
                  " timestamp '2024-01-15 10:00:00', 12.5 from raw.customers"
                  " where customer_id % 7 = 0 and signup_at < timestamp '2024-01-01'")
    warehouse.build(*CHURN_ONLY)
    assert warehouse.sql(VERSIONS).equals(first)  # quiet signal: nothing trained

    set_monitoring(warehouse, rate_gap=0.15)  # monitoring only: the model version is unchanged
    scaffold.write(warehouse.project, "churn", force=True)
    warehouse.build(*CHURN_ONLY)  # reads the previous (quiet) signal, writes a loud one
    assert warehouse.sql(VERSIONS).equals(first)
    assert warehouse.sql(LATEST_SIGNAL).retrain_recommended[0]

    warehouse.build(*CHURN_ONLY)  # the signal from the previous build: train
    versions = warehouse.sql(VERSIONS)
    assert len(versions) == 2
    assert (versions.status == "champion").sum() == 1  # promotion still decides
