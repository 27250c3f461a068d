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
    quarantined = warehouse.sql("select * from dq_feat_customer__as_of__quarantine")
    assert len(quarantined) > 0
    assert (quarantined.customer_id % 20 == 0).all()
    assert quarantined.quarantine_reason.str.contains(
        "expect_column_values_to_be_in_set(acquisition_channel)", regex=False).all()
    gate = warehouse.sql("select * from dq_feat_customer__as_of where not success")
    assert set(gate.severity) <= {"quarantine", "warn"}
    log = "\n".join(warehouse.log)
    assert "quarantined" in log and "dq_feat_customer__as_of__quarantine" in log
    # Quarantined rows are neither scored nor trained on.
    scored = warehouse.sql("select customer_id from ml_churn__scores")
    assert not (scored.customer_id % 20 == 0).any()
    registry = warehouse.sql("select * from ml_model_registry where model_name = 'churn'")
    trained_rows = registry.train_rows[0] + registry.valid_rows[0] + registry.test_rows[0]
    labelled = warehouse.sql("select count(*) as n from ml_churn__training_set"
                             " where split in ('train', 'valid', 'test')"
                             " and customer_id % 20 <> 0").n[0]
    assert trained_rows == labelled
