"""The ml_model_specs table: what the SQL layers read of each spec, and the gates' keys."""

import json
from pathlib import Path

import pytest

from mlmodels.spec import spec_table, specs

SPECS = Path(__file__).parents[2] / "dbt_project" / "ml"


def test_one_row_per_model_with_the_fields_the_macros_read():
    table = spec_table.spec_table(SPECS, ["churn", "spend"])
    assert list(table.model_name) == ["churn", "spend"]
    churn = json.loads(table.spec_json[0])
    spec = specs.load(SPECS / "churn.yml")
    assert churn["tier1"] == list(spec.tier1) and churn["drift_threshold"] == spec.drift_threshold
    assert churn["label"]["horizon_days"] == spec.label.horizon_days
    assert churn["entity_key"] == "customer_id" and churn["score_column"] == "as_of_date"


def test_an_empty_project_has_an_empty_table_with_its_columns():
    assert list(spec_table.spec_table(SPECS, []).columns) == spec_table.SPEC_TABLE_COLUMNS


def test_a_spec_named_otherwise_than_its_file_is_refused(tmp_path):
    (tmp_path / "other.yml").write_text((SPECS / "churn.yml").read_text())
    with pytest.raises(specs.SpecError, match=r"name is 'churn'.*'other'"):
        spec_table.spec_table(tmp_path, ["other"])


def test_a_gated_marts_keys_and_label_come_from_the_specs_that_gate_it():
    table = spec_table.spec_table(SPECS, ["churn", "spend"])
    assert spec_table.mart_keys(table, "feat_customer__as_of") == (
        ["customer_id", "as_of_date"], None)
    assert spec_table.mart_keys(table, "ml_spend__training_set") == (
        ["customer_id", "as_of_date"], "spend_next_90d")
    assert spec_table.mart_keys(table, "not_gated") == ([], None)
    # Files generated before the table carried their keys in meta.
    assert spec_table.mart_keys(None, "m", {"keys": ["k"], "label": "y"}) == (["k"], "y")
