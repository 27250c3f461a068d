"""Reason codes: each row's features ranked by their signed contribution to the raw score.

The raw score is what the estimator adds up before any link: the log-odds (``decision_function``)
of a logistic regression or a gradient-boosted classifier, the averaged probability of a random
forest (which has no log-odds), the prediction of a regressor (before ``non_negative`` clipping).
For every row ``base_value + contributions.sum() == raw_score``, whatever the method:

- ``linear``: exact. ``coef * (x - mean of the training x)`` in the Pipeline's transformed space,
  summed over the columns one original feature became (the one-hot columns of ``plan``), and
  ``base_value`` is the raw score of the training mean. Cost: one matrix product.
- ``tree_shap``: exact TreeSHAP (``shap.TreeExplainer``, path-dependent: the trees' own training
  counts are the background), summed per original feature the same way; ``base_value`` is the
  trees' expected raw score. Needs the ``explain`` extra; cost: several times the scoring itself.
- ``tree_native`` (LightGBM and XGBoost candidates named by import path): the same exact
  TreeSHAP, computed by the library itself (``pred_contrib`` / ``pred_contribs``); ``base_value``
  is its bias column. No extra package needed.
- ``replacement`` (any other estimator): each feature in turn is set to its training reference
  value (the mean of a numeric feature, the most frequent category) and the raw score is taken
  again; a feature's contribution is how much the raw score drops without it. This ignores
  interactions, so ``base_value`` is the remainder ``raw_score - contributions.sum()``, not the
  score of a reference row. Cost: one more scoring pass per feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from mlmodels.learn.pipelines import NonNegativeRegressor
from mlmodels.spec.specs import ModelSpec

REFERENCE_ATTRIBUTE = "explain_reference_"  # set on the deployed Pipeline by attach_reference
LINEAR = (LogisticRegression, LinearRegression, Ridge)
TREES = (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
         RandomForestClassifier, RandomForestRegressor)


@dataclass(frozen=True)
class Explanations:
    """Per row: the raw score, the base value and each original feature's contribution."""

    raw_score: np.ndarray  # (rows,)
    base_value: np.ndarray  # (rows,)
    contributions: np.ndarray  # (rows, features), columns in the order of ``features``
    features: tuple[str, ...]
    method: str


def attach_reference(pipeline: Pipeline, X: pd.DataFrame, spec: ModelSpec) -> None:
    """Store on a fitted Pipeline the training reference its explanations are measured from.

    Kept inside the artifact (signed with it), so a scorer on any worker explains with the
    reference of the rows this very fit saw: the mean of the transformed training rows (the
    linear method's centre), and per original feature the mean of a numeric feature or the most
    frequent category (what "high" and "low" compare with, and the replacement method's values).
    """
    transformed = _dense(pipeline.named_steps["pre"].transform(X))
    raw: dict[str, Any] = {column: float(np.nanmean(X[column])) if X[column].notna().any()
                           else float("nan") for column in spec.numeric}
    for column in spec.categorical:
        counts = X[column].value_counts()
        raw[column] = None if counts.empty else counts.index[0]
    setattr(pipeline, REFERENCE_ATTRIBUTE,
            {"transformed": transformed.mean(axis=0), "raw": raw})


def has_reference(pipeline: Pipeline) -> bool:
    """Return whether the Pipeline carries a training reference (fitted after explain existed)."""
    return hasattr(pipeline, REFERENCE_ATTRIBUTE)


class Explainer:
    """Explain the raw scores of one fitted Pipeline (see the module's docstring for methods).

    Build it once per scorer (a TreeSHAP explainer parses every tree), then call
    :meth:`explain` on each batch's feature frame.

    Raises
    ------
    ValueError
        If the Pipeline carries no training reference (:func:`attach_reference`).
    ImportError
        If the estimator is a tree ensemble and the ``shap`` package is not installed.
    """

    def __init__(self, pipeline: Pipeline, spec: ModelSpec, model_version: str = ""):
        if not has_reference(pipeline):
            raise ValueError(
                f"model '{spec.name}' version {model_version}: the artifact carries no training "
                "reference for explanations (it was trained before explain existed); the next "
                "version trained has one")
        self.spec = spec
        self.pre: ColumnTransformer = pipeline.named_steps["pre"]
        est = pipeline.named_steps["est"]
        self.est = est.estimator_ if isinstance(est, NonNegativeRegressor) else est
        self.reference = getattr(pipeline, REFERENCE_ATTRIBUTE)
        self.features = tuple(spec.features)
        self.pipeline = pipeline
        # the transformed columns each feature became
        self.groups = feature_groups(self.pre, self.features)
        self._tree = None
        self._library = native_library(self.est)
        if isinstance(self.est, LINEAR):
            self.method = "linear"
        elif self._library is not None:
            self.method = "tree_native"
        elif isinstance(self.est, TREES):
            self.method = "tree_shap"
            try:
                import shap
            except ImportError as error:
                raise ImportError(
                    f"model '{spec.name}': explaining a {type(self.est).__name__} needs TreeSHAP: "
                    "pip install 'mlmodels[explain]' (the shap package)") from error
            self._tree = shap.TreeExplainer(self.est, feature_perturbation="tree_path_dependent")
        else:
            self.method = "replacement"

    def transform(self, X: pd.DataFrame) -> Any:
        """Return a feature frame in the Pipeline's transformed space (as the Pipeline has it)."""
        return self.pre.transform(X)

    def raw_score(self, transformed: np.ndarray) -> np.ndarray:
        """Return the estimator's raw score of transformed rows (log-odds, or the prediction)."""
        if self._library == "lightgbm":
            return np.asarray(self.est.predict(transformed, raw_score=True), dtype=float)
        if self._library == "xgboost":
            return np.asarray(self.est.predict(transformed, output_margin=True), dtype=float)
        if not self.spec.is_classifier:
            return np.asarray(self.est.predict(transformed), dtype=float)
        if hasattr(self.est, "decision_function"):
            return np.asarray(self.est.decision_function(transformed), dtype=float)
        return self.est.predict_proba(transformed)[:, 1]  # a random forest: no log-odds

    def explain(self, X: pd.DataFrame, transformed: Any = None) -> Explanations:
        """Return the explanations of the rows of a feature frame (the scorer's input).

        ``transformed`` is :meth:`transform` of ``X`` when the caller has it already.
        """
        transformed = _dense(self.transform(X) if transformed is None else transformed)
        raw = self.raw_score(transformed)
        if self.method == "linear":
            coef = np.ravel(self.est.coef_)
            centre = self.reference["transformed"]
            # (T - centre) * coef, summed per feature
            contributions = (self.per_feature(transformed * coef)
                             - self.per_feature((centre * coef)[None, :]))
            base = np.full(len(X), float(np.ravel(self.est.intercept_)[0] + centre @ coef))
            return Explanations(raw, base, contributions, self.features, self.method)
        if self.method == "tree_native":
            # the library's own TreeSHAP: one column per transformed column, then the bias
            out = self._native_contributions(transformed)
            return Explanations(raw, out[:, -1], self.per_feature(out[:, :-1]), self.features,
                                self.method)
        if self.method == "tree_shap":
            values = self._tree.shap_values(transformed, check_additivity=False)
            expected = np.ravel(self._tree.expected_value)
            if isinstance(values, list):  # older shap: one array per class
                values = values[-1]
            if values.ndim == 3:  # (rows, columns, classes): the positive class
                values, expected = values[:, :, -1], expected[-1:]
            return Explanations(raw, np.full(len(X), float(expected[-1])),
                                self.per_feature(values), self.features, self.method)
        contributions = self._replacement(X, raw)
        return Explanations(raw, raw - contributions.sum(axis=1), contributions,
                            self.features, self.method)

    def per_feature(self, columns: np.ndarray) -> np.ndarray:
        """Sum per-column values (rows, transformed columns) into (rows, features)."""
        return sum_per_feature(columns, self.groups)

    def _native_contributions(self, transformed: np.ndarray) -> np.ndarray:
        """Return LightGBM's ``pred_contrib`` or XGBoost's ``pred_contribs``: (rows, columns + 1)."""
        if self._library == "lightgbm":
            return np.asarray(self.est.predict(transformed, pred_contrib=True), dtype=float)
        import xgboost

        matrix = xgboost.DMatrix(transformed, missing=np.nan)
        return np.asarray(self.est.get_booster().predict(matrix, pred_contribs=True),
                          dtype=float)

    def _replacement(self, X: pd.DataFrame, raw: np.ndarray) -> np.ndarray:
        """Return raw score minus the raw score with each feature set to its reference value."""
        out = np.empty((len(X), len(self.features)))
        for j, feature in enumerate(self.features):
            changed = X.copy()
            changed[feature] = self.reference["raw"][feature]
            out[:, j] = raw - self.raw_score(_dense(self.pre.transform(changed)))
        return out


def native_library(estimator: Any) -> str | None:
    """Return ``lightgbm`` or ``xgboost`` for their scikit-learn estimators, else None.

    Both compute exact TreeSHAP values themselves (``pred_contrib``, ``pred_contribs``), in
    their raw-score units, with the bias as the last column: no ``shap`` package needed.
    """
    library = type(estimator).__module__.split(".")[0]
    return library if library in ("lightgbm", "xgboost") else None


def sum_per_feature(columns: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Sum the columns of each group: (rows, columns) to (rows, groups).

    Group by group, not as a product with a 0/1 matrix: BLAS computes a row of a matrix product
    differently with the number of rows around it, so the same row re-scored in another batch
    would get contributions that differ in the last bits (2 rows of 4,070 in a demo re-score).
    A row's sums here depend on that row alone.
    """
    out = np.empty((len(columns), len(groups)))
    for j, group in enumerate(groups):
        out[:, j] = columns[:, group].sum(axis=1)
    return out


def feature_groups(pre: ColumnTransformer, features: tuple[str, ...]) -> list[np.ndarray]:
    """Return, per original feature, the indices of the transformed columns it became.

    Numeric and target-encoded features become one column each, a one-hot feature one column
    per training category (unseen categories are all zeros, so they add nothing of their own).
    """
    where: dict[str, np.ndarray] = {}
    for name, transformer, columns in pre.transformers_:
        if name == "remainder" or transformer == "drop":
            continue
        start = pre.output_indices_[name].start
        last = transformer[-1] if isinstance(transformer, Pipeline) else transformer
        widths = ([len(c) for c in last.categories_] if name == "onehot"
                  else _kept_widths(transformer, len(columns)))
        for column, width in zip(columns, widths, strict=True):
            where[column] = np.arange(start, start + width)
            start += width
    return [where[feature] for feature in features]


def _kept_widths(transformer: Any, count: int) -> list[int]:
    """Return 1 per column a one-column transformer keeps, 0 for one it drops.

    A median imputer drops a column that was all null in training (no median to fill with), so
    that feature has no transformed column and contributes nothing.
    """
    first = transformer[0] if isinstance(transformer, Pipeline) else transformer
    statistics = getattr(first, "statistics_", None)
    if not isinstance(first, SimpleImputer) or getattr(first, "keep_empty_features", False) or (
            statistics is None or statistics.dtype.kind != "f"):
        return [1] * count
    return [0 if np.isnan(value) else 1 for value in statistics]


def top_reasons(explanations: Explanations, X: pd.DataFrame, top_k: int,
                reference: dict[str, Any]) -> dict[str, pa.Array]:
    """Return the top_k features of each row by absolute contribution, as Arrow columns.

    Returns
    -------
    dict
        ``reason_features`` (list of names, largest first), ``reason_contributions`` (their
        signed contributions) and ``reasons`` (readable text, e.g.
        ``days_since_last_order high (+0.84); plan = monthly (-0.12)``: ``high`` / ``low`` is the
        row's value against the training mean, a categorical shows its value, quoted if it
        could be misread; the sign says whether it raised or lowered the raw score).
    """
    contributions = explanations.contributions
    rows, width = contributions.shape
    k = min(top_k, width)
    # k passes of argmax (the first maximum: ties keep the spec's feature order), cheaper than
    # sorting every row for the few features kept
    left, at = np.abs(contributions), np.arange(rows)
    order = np.empty((rows, k), dtype=np.int64)
    for i in range(k):
        order[:, i] = left.argmax(axis=1)
        left[at, order[:, i]] = -1.0
    chosen = np.take_along_axis(contributions, order, axis=1)
    names = np.asarray(explanations.features, dtype=object)
    offsets = pa.array(np.arange(0, rows * k + 1, k, dtype=np.int32))
    vocabulary, codes = _phrase_codes(X, explanations.features, reference)
    phrases = [_phrases(vocabulary, codes[at, order[:, i]], chosen[:, i]) for i in range(k)]
    reasons = pc.binary_join_element_wise(*phrases, "; ") if k else pa.nulls(rows, pa.string())
    return {
        "reason_features": pa.ListArray.from_arrays(
            offsets, _decoded(names, order)),
        "reason_contributions": pa.ListArray.from_arrays(
            offsets, pa.array(chosen.ravel(), pa.float64())),
        "reasons": reasons,
    }


def _phrase_codes(X: pd.DataFrame, features: tuple[str, ...],
                  reference: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Return every phrase a batch can need and, per row and feature, the code of its own.

    A numeric feature reads ``<name> high | low | average | missing`` (against the training
    mean); a categorical one ``<name> = <value>`` for each value of the batch. Codes index the
    vocabulary, so the text is built once per distinct phrase, not once per row.
    """
    vocabulary: list[str] = []
    codes = np.empty((len(X), len(features)), dtype=np.int64)
    for j, feature in enumerate(features):
        start = len(vocabulary)
        values = X[feature]
        if pd.api.types.is_numeric_dtype(values):
            x, centre = values.to_numpy(dtype=float), reference["raw"][feature]
            vocabulary += [f"{feature} {word}" for word in ("high", "low", "average", "missing")]
            codes[:, j] = start + np.select([np.isnan(x), x > centre, x < centre], [3, 0, 1], 2)
        else:
            found, uniques = pd.factorize(values, use_na_sentinel=True)
            vocabulary += [f"{feature} = {_category(value)}" for value in uniques]
            vocabulary.append(f"{feature} = missing")
            codes[:, j] = start + np.where(found < 0, len(uniques), found)
    return np.asarray(vocabulary, dtype=object), codes


def _category(value: Any) -> str:
    """Return a category as a reason shows it: quoted when it could be misread.

    Quoted (``'...'``, a quote inside doubled) when empty, padded with spaces, holding the
    text's own separators (``;``, ``(``, ``)``, ``=``, a quote) or spelling ``missing``, which
    stands for a null.
    """
    text = str(value)
    plain = (text and text == text.strip() and text.lower() != "missing"
             and not any(mark in text for mark in ";()='"))
    return text if plain else "'" + text.replace("'", "''") + "'"


def _phrases(vocabulary: np.ndarray, codes: np.ndarray, value: np.ndarray) -> pa.Array:
    """Return one reason per row: its phrase and the signed contribution to two decimals.

    Built from whole cents in Arrow (``+0.84``, ``-2.50``; a contribution that rounds to zero
    reads ``+0.00``), not from Python's formatting row by row.
    """
    cents = np.rint(np.abs(value) * 100).astype(np.int64)
    sign = pa.array(np.where((value < 0) & (cents > 0), " (-", " (+"))
    whole = pc.cast(pa.array(cents // 100), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0")
    return pc.binary_join_element_wise(_decoded(vocabulary, codes), sign, whole, ".", fraction,
                                       ")", "")


def _decoded(vocabulary: np.ndarray, codes: np.ndarray) -> pa.Array:
    """Return ``vocabulary[codes]`` as Arrow strings, decoded in Arrow (no Python objects)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.ravel(), pa.int32()), pa.array(vocabulary, pa.string())).cast(pa.string())


def _dense(matrix: Any) -> np.ndarray:
    """Return a transformed batch as a dense float array (a one-hot output may be sparse)."""
    return np.asarray(matrix.toarray() if sparse.issparse(matrix) else matrix, dtype=float)
