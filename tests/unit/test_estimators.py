"""Candidates by import path: checked when the spec is loaded, errors naming the field and rule."""

import jsonschema
import pytest

from mlmodels.learn.pipelines import build_pipeline
from mlmodels.spec import estimators, schema, specs
from tests.unit.toy import SPEC

REGRESSION = {**SPEC, "task": "regression", "target": "y"}


def candidate(name: str, base: dict = SPEC, **fields) -> dict:
    return {**base, "candidates": [{"name": name, **fields}]}


def refused(document: dict) -> str:
    with pytest.raises(specs.SpecError) as error:
        specs.from_dict(document, source="toy.yml")
    message = str(error.value)
    assert message.startswith("spec 'toy' (toy.yml): field '")
    return message


def test_an_import_path_loads_beside_the_short_names():
    spec = specs.from_dict({**SPEC, "candidates": [
        {"name": "sklearn.ensemble.ExtraTreesClassifier", "params": {"n_estimators": 20},
         "grid": {"max_depth": [2, 4]}},
        {"name": "logistic_regression"}]})
    assert [c.name for c in spec.candidates] == ["sklearn.ensemble.ExtraTreesClassifier",
                                                 "logistic_regression"]
    assert spec.candidates[0].grid == {"max_depth": [2, 4]}
    regression = specs.from_dict(candidate("sklearn.linear_model.Lasso", REGRESSION))
    assert regression.candidates[0].name == "sklearn.linear_model.Lasso"


def test_lightgbm_and_xgboost_load_for_their_tasks():
    pytest.importorskip("lightgbm", reason="needs the boosting extra (pip install "
                        "'mlmodels[boosting]'; CI installs it)")
    pytest.importorskip("xgboost", reason="needs the boosting extra (pip install "
                        "'mlmodels[boosting]'; CI installs it)")
    specs.from_dict(candidate("lightgbm.LGBMClassifier", grid={"num_leaves": [7, 15]}))
    specs.from_dict(candidate("xgboost.XGBClassifier", params={"max_depth": 3}))
    specs.from_dict(candidate("xgboost.XGBRegressor", REGRESSION))
    specs.from_dict(candidate("lightgbm.LGBMRegressor", REGRESSION))
    message = refused(candidate("lightgbm.LGBMRegressor"))
    assert "field 'candidates[0].name': expected a classifier for task binary_classification; " \
           "lightgbm.LGBMRegressor is a regressor" in message
    message = refused(candidate("xgboost.XGBRegressor", REGRESSION, params={"num_leaves": 8}))
    assert "field 'candidates[0].params.num_leaves': expected a parameter of " \
           "xgboost.XGBRegressor: one of [" in message
    assert "'max_leaves'" in message


@pytest.mark.parametrize(("document", "field", "rule"), [
    (candidate("mlmodels_no_such_package.Model"), "candidates[0].name",
     "an importable module, but 'mlmodels_no_such_package' cannot be imported (No module named"),
    (candidate("sklearn.ensemble.ExtraTreesClassifer"), "candidates[0].name",
     "a class named 'ExtraTreesClassifer' in module 'sklearn.ensemble', which has none"),
    (candidate("sklearn.metrics.roc_auc_score"), "candidates[0].name",
     "a class, but sklearn.metrics.roc_auc_score is a function"),
    (candidate("collections.OrderedDict"), "candidates[0].name",
     "a scikit-learn-compatible estimator class; collections.OrderedDict has no fit"),
    (candidate("sklearn.linear_model.LinearRegression"), "candidates[0].name",
     ("a classifier for task binary_classification; sklearn.linear_model.LinearRegression is a "
     "regressor")),
    (candidate("sklearn.ensemble.ExtraTreesClassifier", REGRESSION), "candidates[0].name",
     "a regressor for task regression; sklearn.ensemble.ExtraTreesClassifier is a classifier"),
    (candidate("sklearn.cluster.KMeans"), "candidates[0].name",
     "KMeans is neither a classifier nor a regressor"),
    (candidate("sklearn.svm.LinearSVC"), "candidates[0].params",
     ("a classifier with predict_proba (binary classification ranks by the positive class's "
     "probability); sklearn.svm.LinearSVC has no predict_proba")),
    (candidate("sklearn._config.Thing"), "candidates[0].name",
     "an import path of public names"),
    (candidate("sklearn.ensemble.ExtraTreesClassifier", params={"n_estimator": 5}),
     "candidates[0].params.n_estimator",
     "a parameter of sklearn.ensemble.ExtraTreesClassifier: one of ['bootstrap', "),
    (candidate("sklearn.ensemble.ExtraTreesClassifier", grid={"depth": [2]}),
     "candidates[0].grid.depth", "(did you mean 'max_depth'?)"),
    # values are checked when the spec loads, not when the search reaches them
    (candidate("logistic_regression", grid={"C": [1.0, -1]}), "candidates[0].grid.C",
     ("values LogisticRegression accepts: The 'C' parameter of LogisticRegression must be a float "
     "in the range (0.0, inf]. Got -1 instead.")),
    (candidate("hist_gradient_boosting", params={"learning_rate": "fast"}),
     "candidates[0].params", "The 'learning_rate' parameter of HistGradientBoostingClassifier"),
    (candidate("sklearn.ensemble.ExtraTreesClassifier", grid={"max_depth": [2, "deep"]}),
     "candidates[0].grid.max_depth", "Got 'deep' instead."),
    (candidate("xgboost"), "candidates[0].name",
     ("or the import path of a scikit-learn-compatible class (e.g. lightgbm.LGBMClassifier), "
     "got 'xgboost'")),
])
def test_an_estimator_that_breaks_a_rule_names_the_field_and_the_rule(document, field, rule):
    message = refused(document)
    assert f"field '{field}': expected " in message
    assert rule in message


def test_an_unknown_parameter_lists_every_valid_one():
    message = refused(candidate("sklearn.ensemble.ExtraTreesClassifier",
                                params={"n_estimator": 5}))
    from sklearn.ensemble import ExtraTreesClassifier
    assert str(sorted(ExtraTreesClassifier().get_params())) in message


def test_a_missing_module_of_an_extra_names_the_extra(monkeypatch):
    monkeypatch.setitem(estimators.EXTRAS, "mlmodels_no_such_package", "boosting")
    message = refused(candidate("mlmodels_no_such_package.Model"))
    assert "install it: pip install 'mlmodels[boosting]'" in message


def test_the_json_schema_takes_an_import_path_and_refuses_other_names():
    validator = jsonschema.Draft202012Validator(schema.json_schema())
    assert validator.is_valid(candidate("lightgbm.LGBMClassifier"))
    for name in ("xgboost", "lightgbm..LGBMClassifier", "_lightgbm.X", "lightgbm.LGBM-Classifier"):
        assert not validator.is_valid(candidate(name)), name


def test_an_import_path_estimator_gets_one_thread_unless_its_params_say_otherwise():
    spec = specs.from_dict({**SPEC, "candidates": [
        {"name": "sklearn.ensemble.ExtraTreesClassifier"}, {"name": "random_forest"}]})
    one = build_pipeline(spec, "sklearn.ensemble.ExtraTreesClassifier", {})
    assert one["est"].n_jobs == 1 and one["est"].random_state == spec.random_state
    assert build_pipeline(spec, "sklearn.ensemble.ExtraTreesClassifier",
                          {"n_jobs": 2})["est"].n_jobs == 2
    # the short names keep scikit-learn's own default
    assert build_pipeline(spec, "random_forest", {})["est"].n_jobs is None


def test_an_import_path_estimator_gets_a_dense_array():
    """XGBoost reads the zeros a sparse matrix leaves out as missing: a dense array always."""
    spec = specs.from_dict({**SPEC, "candidates": [
        {"name": "sklearn.ensemble.ExtraTreesClassifier"}, {"name": "random_forest"}]})
    assert build_pipeline(spec, "sklearn.ensemble.ExtraTreesClassifier", {})[
        "pre"].sparse_threshold == 0
    assert build_pipeline(spec, "random_forest", {})["pre"].sparse_threshold == 0.3


def test_a_library_taking_kwargs_gets_its_own_names_but_not_a_typo_of_a_named_one():
    """LightGBM's constructor passes **kwargs to the library (verbose, min_data_in_leaf): they
    are taken; a name close to a named parameter is a typo and refused with the named one."""
    pytest.importorskip("lightgbm", reason="needs the boosting extra (pip install "
                        "'mlmodels[boosting]')")

    def spec(params):
        return specs.from_dict({**SPEC, "candidates": [
            {"name": "lightgbm.LGBMClassifier", "params": params}]})

    assert spec({"verbose": -1, "min_data_in_leaf": 5}).candidates[0].params["verbose"] == -1
    with pytest.raises(specs.SpecError, match=r"params.num_leave'.*did you mean 'num_leaves'"):
        spec({"num_leave": 7})
    # scikit-learn's own classes take no **kwargs: any unknown name is refused
    with pytest.raises(specs.SpecError, match=r"params.verbose_level'.*LogisticRegression"):
        specs.from_dict({**SPEC, "candidates": [{"name": "logistic_regression",
                                                 "params": {"verbose_level": 1}}]})
