import pytest

from tests.integration.helpers import failures, new_warehouse

pytestmark = pytest.mark.slow


def test_wiring_the_trap_column_into_the_mart_fails_training(tmp_path):
    """The demo's cancelled_at (known only after the outcome) trips the leakage audit."""
    warehouse = new_warehouse(tmp_path)
    # A careless mart change: days until the CRM's cancelled_at, read from the raw snapshot.
    # The churn spec includes "days_*", so the new column becomes a feature without a spec edit.
    warehouse.edit(
        "models/features/feat_customer__as_of.sql",
        "    spine.region,\n",
        "    {{ dbt.datediff('spine.as_of_date', '(select raw_customers.cancelled_at from '"
        " ~ source('demo', 'customers') ~ ' as raw_customers where raw_customers.customer_id"
        " = spine.customer_id)', 'day') }} as days_until_cancelled,\n    spine.region,\n",
    )
    result = warehouse.build("--select", "+ml_churn__train", expect_success=False)
    message = failures(result)
    assert not result.success
    assert "ml_churn__train" in message
    assert "feature 'days_until_cancelled' alone has ROC AUC" in message
    assert not (warehouse.artifacts / "churn" / "registry.json").exists()
