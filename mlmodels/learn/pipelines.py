"""The one Pipeline shape every model uses: preprocessing fitted on train, then the estimator."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from mlmodels.spec import estimators
from mlmodels.spec.specs import ModelSpec

MISSING_CATEGORY = "__missing__"


def build_pipeline(
    spec: ModelSpec, estimator: str | None = None, params: dict[str, Any] | None = None
) -> Pipeline:
    """Return an unfitted Pipeline: preprocessing of the spec's columns, then an estimator.

    Numeric columns are median-imputed and standardised. Categorical columns get a constant for
    missing values, then one-hot encoding (ignoring categories unseen in training) or, where the
    spec says ``target``, scikit-learn's cross-fitted TargetEncoder; nominal categories never get
    ordinal codes. Everything is fitted by ``Pipeline.fit``, i.e. on the training rows only.

    Parameters
    ----------
    spec
        The validated, resolved model spec.
    estimator
        A short name of the task's registry or a class's import path (see
        :mod:`mlmodels.spec.estimators`); default the spec's first candidate.
    params
        Estimator parameters; ``random_state`` and the spec's ``class_weight`` are added where
        the estimator takes them and they are not given, and :func:`library_defaults`.

    Returns
    -------
    Pipeline
        Steps ``pre`` (a ColumnTransformer; a dense array for an estimator named by import
        path) and ``est``.
    """
    name = estimator or spec.candidates[0].name
    cls = estimators.resolve(name, spec.task)
    params = dict(params if params is not None else spec.candidates[0].params)
    accepted = cls().get_params()
    if "random_state" in accepted:
        params.setdefault("random_state", spec.random_state)
    if spec.class_weight and "class_weight" in accepted:
        params.setdefault("class_weight", spec.class_weight)
    if estimators.is_import_path(name):
        for key, value in library_defaults(cls, accepted).items():
            params.setdefault(key, value)
    model = cls(**params)
    if spec.non_negative:
        model = NonNegativeRegressor(model)
    pre = preprocessor(spec)
    if estimators.is_import_path(name):
        # Always a dense array: many estimators take no sparse input, and XGBoost reads the
        # zeros a sparse matrix leaves out as missing values, so the same rows would score
        # differently as a dense array (by up to 0.86 in a 4,000-row check).
        pre.set_params(sparse_threshold=0.0)
    return Pipeline([("pre", pre), ("est", model)])


def library_defaults(cls: type, accepted: dict[str, Any]) -> dict[str, Any]:
    """Return the defaults an estimator named by import path gets unless its params say otherwise.

    ``n_jobs: 1``: LightGBM and XGBoost start a thread per core by default, while training
    already fits the CV folds, the refits and the learning curve side by side on every core
    (:mod:`mlmodels.learn.parallel`); both at once would run cores x cores threads. LightGBM
    also writes every fit's info and warnings to stdout, into dbt's log: ``verbose: -1``
    keeps its fatal errors only.
    """
    defaults: dict[str, Any] = {}
    if "n_jobs" in accepted:
        defaults["n_jobs"] = 1
    if estimators.library_of(cls) == "lightgbm":
        defaults["verbose"] = -1
    return defaults


class NonNegativeRegressor(RegressorMixin, BaseEstimator):
    """A regressor whose predictions are clipped at zero: for targets that cannot be negative.

    A linear model of spend forecasts negative amounts for quiet customers; clipping them to 0
    can only lower the squared error of a non-negative target. A loss that cannot go below
    zero (``hist_gradient_boosting`` with ``loss: poisson``) is the other way, and is unchanged
    by this wrapper.
    """

    def __init__(self, estimator: BaseEstimator):
        self.estimator = estimator

    def fit(self, X, y, **fit_params):
        """Fit a clone of the wrapped estimator."""
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def predict(self, X):
        """Return the wrapped estimator's predictions, clipped at zero."""
        return np.maximum(self.estimator_.predict(X), 0.0)


def preprocessor(spec: ModelSpec) -> ColumnTransformer:
    """Return the ColumnTransformer for the spec's numeric and categorical columns."""
    onehot = [c for c in spec.categorical if spec.encoding.get(c, "onehot") == "onehot"]
    target = [c for c in spec.categorical if spec.encoding.get(c) == "target"]
    target_type = "binary" if spec.is_classifier else "continuous"
    steps = [
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         list(spec.numeric)),
        ("onehot", make_pipeline(
            SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY),
            OneHotEncoder(handle_unknown="ignore")), onehot),
        ("target", make_pipeline(
            SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY),
            TargetEncoder(target_type=target_type, random_state=spec.random_state)), target),
    ]
    return ColumnTransformer([step for step in steps if step[2]], remainder="drop")


def feature_frame(rows: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Return the spec's feature columns with the dtypes the Pipeline expects.

    Training and scoring both go through this function, so the Pipeline sees identical input
    types in both: numeric as float64 (NULL -> NaN) and categorical as object (NULL -> None).
    """
    frame = pd.DataFrame(index=rows.index)
    for column in spec.numeric:
        try:
            frame[column] = pd.to_numeric(rows[column], errors="raise").astype("float64")
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"model '{spec.name}': feature '{column}' is listed under features.numeric but "
                f"holds a value that is not a number ({error}); cast it in SQL (try_cast) or "
                "list it under features.categorical") from error
    for column in spec.categorical:
        # object, not pandas' str dtype: one-hot encoding object columns is about twice as fast.
        values = rows[column].astype(object)
        frame[column] = values.where(values.notna(), None)
    return frame



def arrow_feature_frame(batch: pa.RecordBatch, spec: ModelSpec) -> pd.DataFrame:
    """Return :func:`feature_frame` of an Arrow record batch, converted in Arrow where it can.

    The scorer's input arrives as Arrow batches. Integer and floating columns become float64
    and string columns object arrays (None for NULL) in Arrow's own kernels, which skips the
    pandas frame of every column that :func:`feature_frame` would convert again; any other
    type goes through :func:`feature_frame` itself, so the result and its errors are the same.
    """
    converted: dict[str, Any] = {}
    rest = []
    for column in spec.numeric:
        values = batch.column(column)
        if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
            # safe=False: an integer beyond 2**53 rounds, as pandas' astype does
            converted[column] = values.cast(pa.float64(), safe=False).to_numpy(
                zero_copy_only=False)
        else:
            rest.append(column)
    for column in spec.categorical:
        values = batch.column(column)
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            # object, None for NULL (pandas would infer its str dtype from the bare array)
            converted[column] = pd.Series(values.to_numpy(zero_copy_only=False), dtype=object)
        else:
            rest.append(column)
    frame = pd.DataFrame(converted, index=pd.RangeIndex(batch.num_rows))
    if rest:
        others = replace(spec, numeric=tuple(c for c in spec.numeric if c in rest),
                         categorical=tuple(c for c in spec.categorical if c in rest))
        slow = feature_frame(batch.select(rest).to_pandas(), others)
        for column in rest:
            frame[column] = slow[column].to_numpy(dtype=object if column in spec.categorical
                                                  else "float64")
    return frame[[*spec.numeric, *spec.categorical]]


def predict_transformed(pipeline: Pipeline, transformed: Any, spec: ModelSpec) -> np.ndarray:
    """Return the score of transformed rows: the positive-class probability or the prediction.

    What ``mlmodels.learn.training.predict`` gives, for rows already through the Pipeline's
    steps but the last: ``Pipeline.predict_proba`` is its last step's ``predict_proba`` of the
    other steps' transform, so the numbers are the same. The scorer transforms a batch in one
    thread while the last step predicts the previous batch in another.
    """
    final = pipeline[-1]
    if spec.is_classifier:
        return final.predict_proba(transformed)[:, 1]
    return final.predict(transformed)
