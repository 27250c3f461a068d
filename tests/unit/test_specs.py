import pytest
from conftest import SPEC

from mlmodels import specs


def test_valid_spec_loads_with_defaults(tmp_path):
    path = tmp_path / "toy.yml"
    path.write_text(
        "name: toy\ntarget: label\nentity_key: entity_id\n"
        "features: {numeric: [x1], categorical: [colour]}\n"
    )
    spec = specs.load(path)
    assert spec.features == ("x1", "colour")
    assert spec.as_of == "as_of_date"
    assert spec.training_set == "ml_toy__training_set"
    assert spec.estimator.name == "logistic_regression"


def test_fingerprint_ignores_key_order():
    reordered = dict(reversed(list(SPEC.items())))
    assert specs.from_dict(SPEC).fingerprint() == specs.from_dict(reordered).fingerprint()
    changed = {**SPEC, "target": "other"}
    assert specs.from_dict(SPEC).fingerprint() != specs.from_dict(changed).fingerprint()


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        ({"target": None}, "target", "non-empty string"),
        ({"features": {"numeric": "x1"}}, "features.numeric", "list of column names"),
        ({"features": {"numbers": ["x1"]}}, "features", "numeric and/or categorical"),
        ({"features": {"numeric": ["x1"], "categorical": ["x1"]}}, "features", "x1 is in both"),
        ({"features": {"numeric": ["label"]}}, "features", "found label"),
        ({"estimator": {"name": "xgboost"}}, "estimator.name", "logistic_regression"),
        ({"task": "ranking"}, "task", "binary_classification"),
        ({"colour": 1}, "colour", "known fields"),
    ],
)
def test_errors_name_spec_and_field(change, field, expected):
    broken = {**SPEC, **change}
    with pytest.raises(specs.SpecError) as error:
        specs.from_dict(broken, source="toy.yml")
    message = str(error.value)
    assert "spec 'toy' (toy.yml)" in message
    assert f"field '{field}'" in message
    assert expected in message


def test_missing_required_field_is_named():
    broken = {k: v for k, v in SPEC.items() if k != "entity_key"}
    with pytest.raises(specs.SpecError, match=r"field 'entity_key'.*required"):
        specs.from_dict(broken)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(specs.SpecError, match=r"nope\.yml"):
        specs.load(tmp_path / "nope.yml")


def test_demo_spec_is_valid():
    from pathlib import Path

    spec = specs.load(Path(__file__).parents[2] / "dbt_project" / "ml" / "churn.yml")
    assert spec.name == "churn" and spec.target == "churned_90d"
