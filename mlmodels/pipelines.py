"""Estimator registry and the one Pipeline shape every model uses."""

from __future__ import annotations

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlmodels.specs import ModelSpec

# Specs name estimators; this registry maps the names to code (no import paths in YAML).
ESTIMATORS: dict[str, type[BaseEstimator]] = {
    "logistic_regression": LogisticRegression,
    "random_forest": RandomForestClassifier,
    "hist_gradient_boosting": HistGradientBoostingClassifier,
}
_SEEDED = {"random_forest", "hist_gradient_boosting", "logistic_regression"}


def build_pipeline(spec: ModelSpec) -> Pipeline:
    """Return an unfitted Pipeline: preprocessing of the spec's columns, then its estimator.

    Numeric columns are median-imputed and standardised; categorical columns get a constant for
    missing values and a one-hot encoding that ignores categories unseen in training. Everything
    is fitted by ``Pipeline.fit``, i.e. on the training rows only.

    Parameters
    ----------
    spec
        The validated model spec.

    Returns
    -------
    Pipeline
        Steps ``pre`` (a ColumnTransformer) and ``est``.
    """
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="__missing__"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    pre = ColumnTransformer(
        [("num", numeric, list(spec.numeric)), ("cat", categorical, list(spec.categorical))],
        remainder="drop",
    )
    params = dict(spec.estimator.params)
    if spec.estimator.name in _SEEDED:
        params.setdefault("random_state", spec.random_state)
    return Pipeline([("pre", pre), ("est", ESTIMATORS[spec.estimator.name](**params))])


def feature_frame(rows: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Return the spec's feature columns with the dtypes the Pipeline expects.

    Training and scoring both go through this function, so the Pipeline sees identical input
    types in both: numeric as float64 (NULL -> NaN) and categorical as object (NULL -> None).
    """
    frame = pd.DataFrame(index=rows.index)
    for column in spec.numeric:
        frame[column] = pd.to_numeric(rows[column], errors="raise").astype("float64")
    for column in spec.categorical:
        # object, not pandas' str dtype: one-hot encoding object columns is about twice as fast.
        values = rows[column].astype(object)
        frame[column] = values.where(values.notna(), None)
    return frame
