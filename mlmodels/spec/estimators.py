"""The estimators a spec can name, by task (a leaf: specs validate names against it)."""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

# Specs name estimators; these registries map the names to code (no import paths in YAML).
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


def estimators_for(task: str) -> dict[str, type[BaseEstimator]]:
    """Return the estimator registry of a task."""
    return CLASSIFIERS if task == "binary_classification" else REGRESSORS
