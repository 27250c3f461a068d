"""The estimators a spec can name, by task: a short name, or a class by import path.

A short name (``logistic_regression``) maps to a scikit-learn class in the registries below. Any
other scikit-learn-compatible class is named by its import path (``lightgbm.LGBMClassifier``,
``xgboost.XGBRegressor``); :func:`resolve` imports it when the spec is loaded and checks that it
is an estimator of the spec's task, so a typo or a missing package fails there, naming the
field, not an hour later in training. Importing a module runs its code: a spec can name only
code installed in the environment that runs dbt, as the project's own Python models are.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
import inspect
from typing import Any

from sklearn.base import BaseEstimator, is_classifier, is_regressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from mlmodels.spec.value_types import IMPORT_PATH

# Specs name estimators; these registries map the short names to code.
CLASSIFIERS: dict[str, type[BaseEstimator]] = {
    "logistic_regression": LogisticRegression,
    "random_forest": RandomForestClassifier,
    "hist_gradient_boosting": HistGradientBoostingClassifier,
}
REGRESSORS: dict[str, type[BaseEstimator]] = {
    "linear_regression": LinearRegression,
    "ridge": Ridge,
    "random_forest": RandomForestRegressor,
    "hist_gradient_boosting": HistGradientBoostingRegressor,
}
# What the optional extras install, for the hint when a module is missing.
EXTRAS: dict[str, str] = {"lightgbm": "boosting", "xgboost": "boosting"}
EXAMPLE_PATH = "lightgbm.LGBMClassifier"


class EstimatorProblem(ValueError):
    """A candidate's estimator or parameter breaks a rule; the message is what was expected."""


def estimators_for(task: str) -> dict[str, type[BaseEstimator]]:
    """Return the short-name registry of a task."""
    return CLASSIFIERS if task == "binary_classification" else REGRESSORS


def is_import_path(name: Any) -> bool:
    """Return True when a candidate's name is an import path (it has a dot), not a short name."""
    return isinstance(name, str) and "." in name


def resolve(name: Any, task: str) -> type[BaseEstimator]:
    """Return the estimator class a candidate names, checked against the task.

    Parameters
    ----------
    name
        A short name of the task's registry, or an import path ``package.module.Class``.
    task
        ``binary_classification`` or ``regression``.

    Raises
    ------
    EstimatorProblem
        If the name is neither a short name of the task nor the path of an importable public
        class with ``fit`` and ``predict`` (and ``predict_proba`` for a classifier) that is a
        classifier (regressor) as scikit-learn tells them apart, and that can be built with
        its default parameters.
    """
    known = estimators_for(task)
    if not is_import_path(name):
        if name in known:
            return known[name]
        raise EstimatorProblem(
            f"one of {sorted(known)}, or the import path of a scikit-learn-compatible class "
            f"(e.g. {EXAMPLE_PATH}), got {name!r}")
    if not IMPORT_PATH.fullmatch(name):
        raise EstimatorProblem(
            f"an import path of public names (package.module.Class: letters, digits and _, no "
            f"part starting with _), got {name!r}")
    module_name, _, class_name = name.rpartition(".")
    cls = getattr(_module(module_name), class_name, None)
    if cls is None:
        raise EstimatorProblem(f"a class named {class_name!r} in module {module_name!r}, which "
                               "has none")
    if not inspect.isclass(cls):
        raise EstimatorProblem(f"a class, but {name} is a {type(cls).__name__}")
    missing = [m for m in ("fit", "predict", "get_params", "set_params")
               if not callable(getattr(cls, m, None))]
    if missing:
        raise EstimatorProblem(f"a scikit-learn-compatible estimator class; {name} has no "
                               f"{' and no '.join(missing)}")
    try:
        instance = cls()
    except Exception as error:
        raise EstimatorProblem(f"a class that builds with its default parameters (a "
                               f"scikit-learn estimator does); {name}() raised {error!r}") from error
    classifier = task == "binary_classification"
    if classifier and not is_classifier(instance):
        raise EstimatorProblem(f"a classifier for task binary_classification; {name} is "
                               f"{_kind(instance)}")
    if not classifier and not is_regressor(instance):
        raise EstimatorProblem(f"a regressor for task regression; {name} is {_kind(instance)}")
    return cls


def _module(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        top = module_name.partition(".")[0]
        extra = EXTRAS.get(top)
        hint = (f"; install it: pip install 'mlmodels[{extra}]'" if extra
                else "; install the package that provides it")
        raise EstimatorProblem(f"an importable module, but {module_name!r} cannot be imported "
                               f"({error}){hint}") from None


def _kind(instance: Any) -> str:
    if is_classifier(instance):
        return "a classifier"
    if is_regressor(instance):
        return "a regressor"
    return "neither a classifier nor a regressor (scikit-learn's estimator type)"


def parameters(cls: type[BaseEstimator]) -> list[str]:
    """Return the parameter names a class accepts: its default instance's ``get_params``."""
    return sorted(cls().get_params(deep=False))


def check_parameter(cls: type[BaseEstimator], name: str, label: str) -> None:
    """Refuse a parameter ``cls`` does not accept, naming the ones it does.

    A class whose constructor takes ``**kwargs`` (LightGBM and XGBoost pass them to the
    library: ``verbose``, ``min_data_in_leaf``, ...) also accepts other names, except one that
    is close to a named parameter: that is taken for a typo.

    Raises
    ------
    EstimatorProblem
        If ``name`` is not in :func:`parameters` (and the class takes no ``**kwargs``, or the
        name is close to one of them).
    """
    valid = parameters(cls)
    if name in valid:
        return
    close = difflib.get_close_matches(name, valid, n=1)
    if takes_kwargs(cls) and not close:
        return
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    passed = (" or a name it passes to the library (its constructor takes **kwargs), not this "
              "close to a named one" if takes_kwargs(cls) else "")
    raise EstimatorProblem(f"a parameter of {label}: one of {valid}{passed}{hint}")


def takes_kwargs(cls: type) -> bool:
    """Return whether the class's constructor takes ``**kwargs``."""
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())


def check_instance(cls: type[BaseEstimator], params: dict[str, Any], task: str,
                   label: str) -> None:
    """Refuse a classifier whose instance with ``params`` gives no probabilities.

    Binary classification ranks and thresholds the positive class's probability, so the
    estimator must have ``predict_proba`` (some offer it only under a parameter, e.g.
    ``probability: true``).

    Raises
    ------
    EstimatorProblem
        If the class does not build with ``params``, or a classifier has no ``predict_proba``.
    """
    try:
        instance = cls(**params)
    except Exception as error:
        raise EstimatorProblem(f"parameters {label} builds with; it raised {error!r}") from error
    if task == "binary_classification" and not hasattr(instance, "predict_proba"):
        raise EstimatorProblem(f"a classifier with predict_proba (binary classification ranks "
                               f"by the positive class's probability); {label} has no predict_proba")
    _check_values(instance, label)


def check_grid_value(cls: type[BaseEstimator], params: dict[str, Any], name: str, value: Any,
                     label: str) -> None:
    """Refuse a grid value the estimator would refuse when fitted, before any fit runs.

    scikit-learn checks parameter values only in ``fit``: without this, a bad value in a grid
    fails the search after the other candidates have been fitted. Each value is checked alone
    with the fixed ``params``, not the grid's whole product.

    Raises
    ------
    EstimatorProblem
        If the class does not build with the value, or scikit-learn's own check refuses it.
    """
    try:
        instance = cls(**{**params, name: value})
    except Exception as error:
        raise EstimatorProblem(f"values {label} builds with; {name}={value!r} raised "
                               f"{error!r}") from error
    _check_values(instance, label)


def _check_values(instance: BaseEstimator, label: str) -> None:
    """Run scikit-learn's parameter check (``_validate_params``) where the class has one.

    Classes from other libraries (LightGBM, XGBoost) declare no constraints and check their
    values when fitted only.
    """
    validate = getattr(instance, "_validate_params", None)
    # Subclasses of BaseEstimator inherit the method, but it needs the class's constraints.
    if not callable(validate) or not hasattr(instance, "_parameter_constraints"):
        return
    try:
        validate()
    except (TypeError, ValueError) as error:
        raise EstimatorProblem(f"values {label} accepts: {error}") from None


def label_of(name: str, task: str) -> str:
    """Return how errors call an estimator: its import path, or the class of a short name."""
    return name if is_import_path(name) else estimators_for(task)[name].__name__


def library_of(cls: type) -> str:
    """Return the top-level package a class comes from, e.g. ``lightgbm`` or ``sklearn``."""
    return cls.__module__.partition(".")[0]


def is_installed(library: str) -> bool:
    """Whether a top-level package can be imported (found on the path, not imported)."""
    return importlib.util.find_spec(library) is not None


def library_version(library: str) -> str | None:
    """Return the installed version of a top-level package.

    None when it is not installed, and also when it is installed without any version (a
    package of the user's own, on the path, without metadata): tell the two apart with
    :func:`is_installed`.
    """
    try:
        version = getattr(importlib.import_module(library), "__version__", None)
    except ImportError:
        return None
    if isinstance(version, str):
        return version
    try:
        return importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return None
