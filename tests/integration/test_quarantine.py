import pytest

from mlmodels import scaffold
from tests.integration.helpers import failures, new_warehouse

pytestmark = pytest.mark.slow


def test_quarantine_sets_bad_rows_aside_and_the_build_goes_on(tmp_path):
    warehouse = new_warehouse(tmp_path)
    for name in ("churn", "spend"):  # both share the mart's gate, so both opt in
        spec = warehouse.project / "ml" / f"{name}.yml"
        spec.write_text(spec.read_text() + "quality: {quarantine: true}\n")
        scaffold.write(warehouse.project, name, force=True)
    # The source gate on the channels would stop the build; this project expects new channels
    # and sets them aside instead, so it turns that gate into a warning (as a user would).
    warehouse.edit("tests/mlmodels/gates/demo__customers/"
                   "assert_demo__customers__acquisition_channel__accepted_values.sql",
                   "severity='error'", "severity='warn'")
    warehouse.raw("update raw.customers set acquisition_channel = 'tiktok'"
                  " where customer_id % 20 = 0")

    result = warehouse.build()  # no gate fails: the unseen category is quarantined

    assert result.success, failures(result)
    # Every customer made 'tiktok' is set aside at every as_of the mart holds it, and nothing else.
    mart = warehouse.sql("select customer_id, as_of_date, acquisition_channel"
                         " from feat_customer__as_of")
    tiktok = keys(mart[mart.acquisition_channel == "tiktok"])
    assert tiktok and tiktok == keys(mart[mart.customer_id % 20 == 0])
    quarantined = warehouse.sql("select * from dq_feat_customer__as_of__quarantine")
    assert keys(quarantined) == tiktok and not quarantined.duplicated(KEYS).any()
    assert set(quarantined.quarantine_reason) == {
        "expect_column_values_to_be_in_set(acquisition_channel)"}
    gate = warehouse.sql("select * from dq_feat_customer__as_of where not success")
    assert set(gate.severity) <= {"quarantine", "warn"}
    log = "\n".join(warehouse.log)
    assert "quarantined" in log and "dq_feat_customer__as_of__quarantine" in log
    # Quarantined rows are neither scored nor trained on: the scores are exactly the rows after
    # the fit window but those, and the registered split sizes leave exactly those out.
    registry = warehouse.sql("select * from ml_model_registry where model_name = 'churn'")
    row = registry.iloc[0]
    rows = warehouse.sql("select customer_id, as_of_date, split from ml_churn__training_set")
    scores = warehouse.sql("select customer_id, as_of_date from ml_churn__scores")
    assert not scores.duplicated(KEYS).any()
    assert keys(scores) == keys(rows[rows.as_of_date > row.fit_to]) - tiktok
    kept = rows[rows.customer_id % 20 != 0].split.value_counts()
    assert (row.train_rows, row.valid_rows, row.test_rows) == (
        kept["train"], kept["valid"], kept["test"])
    assert row.fit_rows == kept["train"] + kept["valid"] + kept["test"]


KEYS = ["customer_id", "as_of_date"]


def keys(frame) -> set[tuple]:
    return set(frame[KEYS].itertuples(index=False, name=None))
