import re

import pytest

from mlmodels.spec import specs
from tests.unit.toy import SPEC


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
    assert spec.candidates[0].name == "logistic_regression"
    assert spec.threshold == "max_f1" and spec.cv_folds == 3 and spec.promotion_margin == 0


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
        ({"features": {"numbers": ["x1"]}}, "features.numbers", "known fields"),
        ({"features": {"numeric": ["x1"], "categorical": ["x1"]}}, "features", "x1 is in both"),
        ({"features": {"numeric": ["label"]}}, "features", "found label"),
        ({"candidates": [{"name": "xgboost"}]}, "candidates[0].name", "logistic_regression"),
        ({"candidates": [{"name": "ridge"}]}, "candidates[0].name", "hist_gradient_boosting"),
        ({"candidates": [{"name": "random_forest", "grid": {"depth": [1]}}]},
         "candidates[0].grid.depth", "RandomForestClassifier: one of ['bootstrap'"),
        ({"candidates": [{"name": "random_forest", "grid": {"max_depth": 3}}]},
         "candidates[0].grid", "non-empty lists"),
        ({"task": "ranking"}, "task", "binary_classification"),
        ({"threshold": {"min_precision": 1.5}}, "threshold", "min_precision"),
        ({"threshold": {"cost": {"fp": 1}}}, "threshold", "cost"),
        ({"selection_metric": "recall"}, "selection_metric", "roc_auc"),
        ({"problem": {"success": {"metric": "rmse", "target": 1}}}, "problem.success.metric",
         "recall"),
        ({"problem": {"constraints": {"max_latency": 3}}}, "problem.constraints.max_latency",
         "max_latency_ms_per_1000"),
        ({"features": {"numeric": {"include": []}}}, "features.numeric.include", "at least one"),
        ({"features": {"numeric": ["x1"], "encoding": {"x1": "target"}}}, "features.encoding.x1",
         "a categorical column"),
        ({"features": {"categorical": ["c"], "encoding": {"c": "ordinal"}}},
         "features.encoding.c", "onehot"),
        ({"drift": {"moderate": 0.3, "drift": 0.2}}, "drift.drift", "at least drift.moderate"),
        ({"search": {"cv_folds": 1}}, "search.cv_folds", "[2, 50]"),
        ({"label": {"mart": "m", "events": "e", "timestamp": "t"}}, "label.horizon_days",
         "required"),
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
    broken = {k: v for k, v in SPEC.items() if k != "target"}
    with pytest.raises(specs.SpecError, match=r"field 'target'.*required"):
        specs.from_dict(broken)


def test_regression_spec_gets_regression_defaults():
    spec = specs.from_dict({"name": "r", "target": "y", "task": "regression",
                            "features": {"numeric": ["x"]}})
    assert spec.selection_metric == "rmse"
    assert spec.candidates[0].name == "ridge"
    with pytest.raises(specs.SpecError, match="no threshold for a regression model"):
        specs.from_dict({"name": "r", "target": "y", "task": "regression",
                         "features": {"numeric": ["x"]}, "threshold": "max_f1"})


def test_patterns_resolve_against_the_training_set():
    spec = specs.from_dict({
        "name": "p", "target": "y", "entity_key": "id",
        "features": {"numeric": {"include": ["orders_*", "tenure"], "exclude": ["*_7d"]},
                     "categorical": ["plan"]},
    })
    columns = ["id", "as_of_date", "y", "split", "orders_7d", "orders_30d", "tenure", "plan"]
    resolved = spec.resolve(columns)
    assert resolved.numeric == ("orders_30d", "tenure")
    assert resolved.categorical == ("plan",)
    with pytest.raises(specs.SpecError, match="include pattern 'revenue_\\*' matches no column"):
        specs.from_dict({**SPEC, "features": {"numeric": {"include": ["revenue_*"]}}}).resolve(
            columns)


def test_unknown_feature_column_names_the_training_set_and_column():
    spec = specs.from_dict({**SPEC, "training_set": "ml_toy__rows"})
    with pytest.raises(specs.SpecError) as error:
        spec.resolve(["entity_id", "as_of_date", "label", "split", "x1", "colour"])
    assert "training set 'ml_toy__rows' has no column 'x2'" in str(error.value)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(specs.SpecError, match=r"nope\.yml"):
        specs.load(tmp_path / "nope.yml")


def test_demo_spec_is_valid():
    from pathlib import Path

    folder = Path(__file__).parents[2] / "dbt_project" / "ml"
    spec = specs.load(folder / "churn.yml")
    assert spec.name == "churn" and spec.target == "churned_90d"
    assert specs.load(folder / "spend.yml").task == "regression"


def test_an_embargo_shorter_than_the_label_horizon_is_refused():
    label = {"mart": "m", "events": "e", "timestamp": "t", "horizon_days": 90}
    with pytest.raises(specs.SpecError, match=r"split.embargo_days.*at least the label horizon"):
        specs.from_dict({**SPEC, "label": label, "split": {"embargo_days": 7}})
    assert specs.from_dict({**SPEC, "label": label, "split": {"embargo_days": 120}})


def test_monitoring_defaults_errors_and_fingerprint():
    spec = specs.from_dict(SPEC)
    assert spec.monitoring == specs.Monitoring()
    assert spec.monitoring.backfill and not spec.monitoring.retrain_on_signal
    tuned = specs.from_dict({**SPEC, "monitoring": {"rate_gap": 0.3, "retrain_on_signal": True}})
    assert tuned.monitoring.rate_gap == 0.3 and tuned.monitoring.retrain_on_signal
    # What is watched is not what is trained: no new model version for a monitoring edit.
    assert tuned.fingerprint() == spec.fingerprint()
    with pytest.raises(specs.SpecError, match=r"monitoring\.rate_window"):
        specs.from_dict({**SPEC, "monitoring": {"rate_window": 0}})
    with pytest.raises(specs.SpecError, match="monitoring"):
        specs.from_dict({**SPEC, "monitoring": {"retrain": True}})


def test_label_absent_counts_windows_without_an_event():
    label = {"mart": "m", "events": "e", "timestamp": "t", "horizon_days": 90}
    spec = specs.from_dict({**SPEC, "label": {**label, "absent": True}})
    assert spec.label.absent
    with pytest.raises(specs.SpecError, match=r"label\.absent"):
        specs.from_dict({**SPEC, "label": {**label, "absent": True, "value": "amount"}})


@pytest.mark.parametrize(("change", "field", "hint"), [
    ({"split": {"test_period": 3}}, "split.test_period", "did you mean 'test_periods'?"),
    ({"candidates": [{"name": "ridge", "parms": {}}]}, "candidates[0].parms",
     "did you mean 'params'?"),
    ({"features": {"numeric": {"include": ["x*"], "exlude": ["x2"]}}},
     "features.numeric.exlude", "did you mean 'exclude'?"),
    ({"descripton": "x"}, "descripton", "did you mean 'description'?"),
])
def test_an_unknown_field_lists_the_known_ones_and_the_closest(change, field, hint):
    with pytest.raises(specs.SpecError) as error:
        specs.from_dict({**SPEC, **change}, source="toy.yml")
    message = str(error.value)
    assert f"field '{field}': expected one of the known fields [" in message
    assert message.endswith(f"({hint})")


@pytest.mark.parametrize(("change", "field"), [
    ({"random_state": "1"}, "random_state"),  # a string is not a number
    ({"non_negative": 1}, "non_negative"),  # 1 is not true
    ({"label": {"mart": "m", "events": "e", "timestamp": "t", "horizon_days": 90.0}},
     "label.horizon_days"),  # a float is not an integer
])
def test_values_are_not_coerced(change, field):
    with pytest.raises(specs.SpecError, match=rf"field '{re.escape(field)}'"):
        specs.from_dict({**SPEC, **change})


def test_values_are_kept_as_written():
    spec = specs.from_dict({**SPEC, "promotion": {"margin": 0}, "search": {"cv_folds": 0.0}})
    assert type(spec.promotion_margin) is int and type(spec.cv_folds) is int


LABELLED = {**SPEC, "label": {"mart": "m", "events": "e", "timestamp": "t", "horizon_days": 90},
            "features": {**SPEC["features"], "tier1": ["x1"]}}


@pytest.mark.parametrize("edit", [
    {"description": "another sentence"},
    {"problem": {"decision": "whom to call first"}},
    {"monitoring": {"backfill": False, "performance_margin": 0.1, "rate_gap": 0.3,
                    "rate_window": 6, "retrain_on_signal": True}},
    {"features": {**LABELLED["features"], "tier1": ["x1", "x2"]}},
    {"features": {**LABELLED["features"], "tier1": []}},
    {"drift": {"moderate": 0.05}},
    {"drift": {"drift": 0.5}},
])
def test_what_says_how_a_model_is_watched_makes_no_new_version(edit):
    assert specs.from_dict({**LABELLED, **edit}).fingerprint() == \
        specs.from_dict(LABELLED).fingerprint()


@pytest.mark.parametrize("edit", [
    {"candidates": [{"name": "logistic_regression", "params": {"max_iter": 600}}]},
    {"candidates": [{"name": "logistic_regression", "params": {"max_iter": 500},
                     "grid": {"C": [0.1, 1.0]}}]},
    {"features": {**LABELLED["features"], "numeric": ["x1"]}},
    {"features": {**LABELLED["features"], "encoding": {"colour": "target"}}},
    {"label": {**LABELLED["label"], "horizon_days": 60}},
    {"split": {"test_periods": 2}},
    {"drift": {"exclude": ["x2"]}},  # the version's reference bins leave x2 out
    {"threshold": {"min_precision": 0.8}},
    {"promotion": {"margin": 0.01}},
    {"problem": {"success": {"metric": "roc_auc", "target": 0.7}}},
    {"random_state": 1},
])
def test_what_changes_what_is_trained_makes_a_new_version(edit):
    assert specs.from_dict({**LABELLED, **edit}).fingerprint() != \
        specs.from_dict(LABELLED).fingerprint()


def test_capacity_is_a_count_or_a_share_and_never_both():
    assert specs.from_dict({**SPEC, "problem": {"capacity": 200}}).problem.capacity == 200
    share = specs.from_dict({**SPEC, "problem": {"capacity_share": 0.1}}).problem
    assert share.capacity_share == 0.1 and share.capacity is None
    with pytest.raises(specs.SpecError, match=r"'problem.capacity_share'.*not both"):
        specs.from_dict({**SPEC, "problem": {"capacity": 200, "capacity_share": 0.1}})
    for bad, field in (({"capacity": 0}, "capacity"), ({"capacity": 2.5}, "capacity"),
                       ({"capacity_share": 0}, "capacity_share"),
                       ({"capacity_share": 1.5}, "capacity_share")):
        with pytest.raises(specs.SpecError, match=rf"'problem.{field}'"):
            specs.from_dict({**SPEC, "problem": bad})


def test_capacity_goes_to_the_sql_layers_and_not_into_the_version():
    from mlmodels.spec.spec_table import sql_fields

    spec = specs.from_dict({**SPEC, "problem": {"capacity_share": 0.25}})
    assert sql_fields(spec)["capacity_share"] == 0.25 and sql_fields(spec)["capacity"] is None
    for problem in ({"capacity": 200}, {"capacity": 10}, {"capacity_share": 0.25}):
        assert specs.from_dict({**SPEC, "problem": problem}).fingerprint() == \
            specs.from_dict(SPEC).fingerprint()


def test_a_regression_model_may_have_a_capacity_its_rows_ranked_by_prediction():
    spec = specs.from_dict({"name": "r", "target": "y", "task": "regression",
                            "features": {"numeric": ["x"]}, "problem": {"capacity": 50}})
    assert spec.problem.capacity == 50  # tests/integration/test_predictions_sql.py ranks them
