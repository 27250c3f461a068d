"""The training workflow of a spec: baselines, time-ordered CV search, selection, threshold, test.

The order is the one a careful ML engineer follows by hand:

1. audit the features for leakage on the train split;
2. for every candidate and parameter set, cross-validate on train with time-ordered folds
   (scikit-learn's GridSearchCV or RandomizedSearchCV over
   :class:`~mlmodels.splits.TimeOrderedSplit`);
3. refit each candidate's best parameters on train and select the candidate on valid;
4. choose the decision threshold on valid;
5. evaluate the selected model, the baselines (prior, a plain linear model, the spec's rule) on
   test, once, after every choice is made.

Then, with ``deploy.refit: all`` (the default), the chosen configuration is **refitted for
deployment** on every labelled row (train, valid and test), so the model that scores was fitted on
the most recent matured data, not on a train split that ends a year before the first score. The
evaluated Pipeline (fitted on train) is kept beside it: its metrics are what promotion compares.
The deployed threshold flags the same share of the test rows as the evaluated threshold did
(:func:`carry_threshold`). ``deploy.refit: train`` registers the evaluated Pipeline itself.

Longer than 500 lines because it is the one place a model is fitted: search, selection,
threshold, baselines, evaluation tables, importances, learning curve and the leakage audit
share the prepared frames and the predictions already made.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.model_selection import (
    BaseCrossValidator,
    GridSearchCV,
    KFold,
    ParameterGrid,
    PredefinedSplit,
    RandomizedSearchCV,
    StratifiedKFold,
)
from sklearn.pipeline import Pipeline

import mlmodels
from mlmodels.engine import table
from mlmodels.learn import comparison, drift, evaluation, explain, parallel, permutation
from mlmodels.learn.pipelines import (
    NonNegativeRegressor,
    build_pipeline,
    feature_frame,
    predict_transformed,
)
from mlmodels.learn.splits import TimeOrderedSplit, stratified_random_split
from mlmodels.spec import estimators
from mlmodels.spec.specs import HIGHER_IS_BETTER, ModelSpec, SpecError

SPLITS = ("train", "valid", "test")
RULE_COLUMN = "__rule_baseline"
LATENCY_ROWS = 1000


class TrainingDataError(ValueError):
    """The training rows cannot be used: a missing column, an empty split, a bad label."""


class LeakageError(ValueError):
    """A feature predicts the target too well to be true; the message names it."""


@dataclass(frozen=True)
class TrainedModel:
    """A fitted Pipeline and everything measured while choosing and evaluating it."""

    spec: ModelSpec
    pipeline: Pipeline
    version: str
    estimator: str
    params: dict[str, Any]
    threshold: float | None
    metrics: dict[str, dict[str, float]]  # "<model>/<split>" -> metric -> value
    windows: dict[str, dict[str, Any]]  # train, valid, test and fit (the deployed fit's rows)
    split_strategy: str
    evaluation: dict[str, list[dict[str, Any]]]
    reference_bins: pd.DataFrame
    latency_ms_per_1000: float
    artifact_mb: float
    meets_constraints: bool
    test_rows: pd.DataFrame
    evaluated_pipeline: Pipeline | None = None  # fitted on train; None: it is ``pipeline``
    evaluated_threshold: float | None = None
    reference_rows: pd.DataFrame | None = None  # the rows the reference bins were fitted on

    def score(self, model: str = "model", split: str = "test") -> float:
        """Return the selection metric of a model (model, prior, linear, rule) on a split."""
        return self.metrics.get(f"{model}/{split}", {}).get(self.spec.selection_metric, np.nan)


# ----------------------------------------------------------------------------------------------
# Rows


def rows_with_rule(relation: Any, spec: ModelSpec) -> pd.DataFrame:
    """Pull the labelled rows out of a DuckDB relation, with the spec's rule evaluated in SQL.

    Parameters
    ----------
    relation
        The training set as a DuckDB relation (what ``dbt.ref`` gives a Python model).
    spec
        The model spec; ``problem.rule_baseline`` is a SQL expression over the training set.

    Returns
    -------
    pandas.DataFrame
        Train, valid and test rows (all rows for snapshot data), plus the column
        ``__rule_baseline`` when the spec has a rule.

    Raises
    ------
    SpecError
        If the rule is not a valid SQL expression over the training set.
    """
    relation = table(relation)
    if not spec.is_snapshot:
        if spec.split_column not in relation.columns:
            raise TrainingDataError(
                f"model '{spec.name}': training set '{spec.training_set}' has no column "
                f"'{spec.split_column}'"
            )
        relation = relation.filter(f"{spec.split_column} in ('train', 'valid', 'test')")
    if spec.problem.rule_baseline:
        try:
            relation = relation.project(f"*, ({spec.problem.rule_baseline}) as {RULE_COLUMN}")
            relation.arrow_schema()  # binds the rule now: a query over DuckDB binds when it is read
        except Exception as error:
            raise SpecError(
                f"spec '{spec.name}': field 'problem.rule_baseline': expected a SQL expression "
                f"over training set '{spec.training_set}': {error}"
            ) from error
    return relation.df()


def prepare(rows: pd.DataFrame, spec: ModelSpec) -> tuple[ModelSpec, pd.DataFrame, str]:
    """Resolve the spec's features, check the rows and assign splits to snapshot data.

    Returns
    -------
    (resolved spec, labelled rows in a fixed order, split strategy)
    """
    where = f"model '{spec.name}', training set '{spec.training_set}'"
    for column in (spec.entity_key, spec.target, *([spec.as_of] if spec.as_of else [])):
        if column not in rows.columns:
            raise TrainingDataError(f"{where}: column '{column}' is missing (spec expects it)")
    spec = spec.resolve(list(rows.columns))
    check_feature_types(rows, spec, where)
    if spec.is_snapshot:
        # Rows without a label are the ones to score (not yet known), never training rows.
        rows = rows[rows[spec.target].notna()]
        rows = rows.sort_values(spec.entity_key, kind="stable").reset_index(drop=True)
        rows[spec.split_column] = stratified_random_split(
            rows[spec.target], spec.valid_fraction, spec.test_fraction, spec.random_state,
            stratify=spec.is_classifier,
        )
        strategy = "stratified_random" if spec.is_classifier else "random"
    else:
        if spec.split_column not in rows.columns:
            raise TrainingDataError(f"{where}: column '{spec.split_column}' is missing")
        rows = rows[rows[spec.split_column].isin(SPLITS)]
        # A fixed row order makes the fit reproducible whatever order the warehouse returned.
        rows = rows.sort_values([spec.as_of, spec.entity_key], kind="stable").reset_index(drop=True)
        strategy = "time"
    for split in SPLITS:
        if not (rows[spec.split_column] == split).any():
            raise TrainingDataError(
                f"{where}: split '{split}' has no rows; the data may cover too few as_of dates "
                "for the split and embargo periods"
            )
    labels = rows[spec.target]
    if labels.isna().any():
        raise TrainingDataError(f"{where}: column '{spec.target}' is null on labelled rows")
    if spec.is_classifier:
        if not labels.isin([0, 1]).all():
            raise TrainingDataError(f"{where}: column '{spec.target}' must hold 0 or 1 only")
        for split in SPLITS:
            if labels[rows[spec.split_column] == split].nunique() < 2:
                raise TrainingDataError(
                    f"{where}: column '{spec.target}' has one class only in split '{split}'"
                )
    return spec, rows, strategy


def check_feature_types(rows: pd.DataFrame, spec: ModelSpec, where: str) -> None:
    """Fail, naming the column and the fix, when a numeric feature holds text.

    Raises
    ------
    TrainingDataError
        If a column listed under ``features.numeric`` has values that are not numbers.
    """
    for column in spec.numeric:
        values = rows[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        parsed = pd.to_numeric(values, errors="coerce")
        bad = values[parsed.isna() & values.notna()]
        if len(bad):
            raise TrainingDataError(
                f"{where}: feature '{column}' is listed under features.numeric but holds "
                f"{len(bad)} value(s) that are not numbers, e.g. {bad.iloc[0]!r}; cast it in SQL "
                f"(try_cast({column} as double) turns them into nulls, which are imputed) or "
                "list it under features.categorical")


def data_fingerprint(rows: pd.DataFrame, spec: ModelSpec) -> str:
    """Return a sha256 of the labelled rows' content, independent of row order and dtypes.

    Values are hashed as what they are, not as how an engine typed them: numbers as doubles
    (an INTEGER day count on one engine is a BIGINT on another; an integer column with nulls
    arrives as nullable integers from DuckDB and as floats from Spark), times as nanoseconds,
    the rest as text. The same rows from DuckDB and from Spark are then the same version.
    """
    columns = sorted(c for c in rows.columns if c in {
        spec.entity_key, spec.as_of, spec.split_column, spec.target, RULE_COLUMN, *spec.features})
    canonical = pd.DataFrame({column: _canonical(rows[column]) for column in columns})
    hashed = pd.util.hash_pandas_object(canonical, index=False).to_numpy()
    return hashlib.sha256(np.sort(hashed).tobytes()).hexdigest()


def _canonical(values: pd.Series) -> pd.Series:
    """Return a column as doubles, nanosecond times or text (see :func:`data_fingerprint`)."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return pd.Series(values.astype("Float64").to_numpy(dtype="float64", na_value=np.nan))
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]").reset_index(drop=True)
    return pd.Series(values.astype(object).where(values.notna(), None).map(
        lambda v: None if v is None else str(v)).to_numpy(dtype=object))


def model_version(spec: ModelSpec, rows: pd.DataFrame) -> str:
    """Return the content-addressed version: spec, training data and code versions together.

    The code versions are mlmodels', scikit-learn's and those of the packages of candidates
    named by import path (LightGBM, XGBoost): upgrading one trains a new version, which its
    artifacts need (they load only under the versions they were trained with).
    """
    parts = [spec.fingerprint(), data_fingerprint(rows, spec), mlmodels.__version__,
             sklearn.__version__]
    parts += [f"{library} {version}" for library, version in candidate_libraries(spec).items()
              if library != "sklearn"]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def candidate_libraries(spec: ModelSpec) -> dict[str, str | None]:
    """Return the top-level package and installed version of each candidate's estimator."""
    libraries = {}
    for candidate in spec.candidates:
        library = estimators.library_of(estimators.resolve(candidate.name, spec.task))
        libraries[library] = estimators.library_version(library)
    return dict(sorted(libraries.items()))


def estimator_library(spec: ModelSpec, name: str) -> dict[str, str | None]:
    """Return the registry's record of an estimator's package: its name and version.

    Loading the artifact checks them (:func:`mlmodels.serve.registry.check_libraries`), as it
    checks scikit-learn's and numpy's.
    """
    library = estimators.library_of(estimators.resolve(name, spec.task))
    return {"estimator_library": library,
            "estimator_library_version": estimators.library_version(library)}


# ----------------------------------------------------------------------------------------------
# The workflow


def fit(
    rows: pd.DataFrame,
    spec: ModelSpec,
    prepared: tuple[ModelSpec, pd.DataFrame, str] | None = None,
    version: str | None = None,
) -> TrainedModel:
    """Run the whole training workflow of a spec on its training rows.

    Parameters
    ----------
    rows
        The training set: keys, features, the target, the split column (not for snapshot data)
        and optionally ``__rule_baseline`` (see :func:`rows_with_rule`).
    spec
        The validated model spec.
    prepared
        What :func:`prepare` returned for these rows, when the caller already has it.
    version
        :func:`model_version` of the prepared rows, when the caller already has it (hashing
        every labelled row again costs seconds at a million rows).

    Returns
    -------
    TrainedModel
        The selected Pipeline (fitted on train), its threshold, metrics of it and of the
        baselines per split, the evaluation tables and the reference bins of train.

    Raises
    ------
    TrainingDataError
        If a column is missing, a split is empty or the label is unusable.
    LeakageError
        If a feature alone predicts the target beyond ``leakage.max_single_feature_auc``.
    """
    spec, rows, strategy = prepared if prepared is not None else prepare(rows, spec)
    version = version or model_version(spec, rows)
    parts = {s: rows[rows[spec.split_column] == s] for s in SPLITS}
    X = {s: feature_frame(p, spec) for s, p in parts.items()}
    y = {s: p[spec.target].to_numpy(dtype=int if spec.is_classifier else float)
         for s, p in parts.items()}

    audit_leakage(parts["train"], spec)
    candidates = search_candidates(spec, parts, X, y)
    best = select_candidate(candidates, spec, X, y)
    pipeline = best["pipeline"]

    # valid was predicted when the candidate was selected
    predictions = {"train": predict(pipeline, X["train"], spec),
                   "valid": best["valid_predictions"]}
    threshold = None
    if spec.is_classifier:
        threshold = evaluation.choose_threshold(y["valid"], predictions["valid"], spec.threshold)
    # Every choice is made: the test split is looked at now, once.
    predictions["test"] = predict(pipeline, X["test"], spec)

    metrics = {f"model/{s}": split_metrics(y[s], predictions[s], threshold, spec) for s in SPLITS}
    baselines = baseline_predictions(spec, parts, X, y)
    for name, by_split in baselines.items():
        for split, values in by_split.items():
            metrics[f"{name}/{split}"] = split_metrics(y[split], values, threshold, spec,
                                                       rule=name == "rule")

    # The learning curve's fits and the deployment refit do not depend on each other: together.
    curve_sizes = learning_curve_sizes(spec, y["train"])
    n = len(X["train"])
    smaller = [size for size in curve_sizes if size < n]
    refits = [(spec, best["candidate"], best["params"], X["train"].iloc[n - size:],
               y["train"][n - size:]) for size in smaller]
    if spec.deploy_refit == "all":
        refits.append((spec, best["candidate"], best["params"],
                       pd.concat([X[s] for s in SPLITS]), np.concatenate([y[s] for s in SPLITS])))
    refitted = parallel.run_all(fit_configuration, refits)
    curve_fits = dict(zip(smaller, refitted[:len(smaller)], strict=True))
    if n in curve_sizes:
        curve_fits[n] = pipeline

    windows = {s: window(p, spec) for s, p in parts.items()}
    tables = evaluation_tables(spec, pipeline, X, y, predictions, threshold, metrics, candidates,
                               curve_fits)
    deployed, deployed_threshold = pipeline, threshold
    reference_rows, reference_scores = parts["train"], predictions["test"]
    windows["fit"] = windows["train"]
    if spec.deploy_refit == "all":
        deployed = refitted[-1]
        deployed_scores = predict(deployed, X["test"], spec)
        if spec.is_classifier:
            deployed_threshold = carry_threshold(predictions["test"], deployed_scores, threshold)
        windows["fit"] = window(rows, spec)
        # Drift is measured against what the deployed model learned most recently: the latest
        # matured window of its fit (all its rows for snapshot data, which has no time order).
        reference_rows = rows if spec.is_snapshot else parts["test"]
        reference_scores = deployed_scores
    # The centre of its explanations travels inside the artifact: the rows this fit saw.
    explain.attach_reference(
        deployed, pd.concat([X[s] for s in SPLITS]) if deployed is not pipeline else X["train"],
        spec)
    return TrainedModel(
        spec=spec,
        pipeline=deployed,
        version=version,
        estimator=best["candidate"],
        params=best["params"],
        threshold=deployed_threshold,
        metrics=metrics,
        windows=windows,
        split_strategy=strategy,
        evaluation=tables,
        reference_bins=pd.concat([
            drift.reference_bins(reference_rows,
                                 [f for f in spec.numeric if f not in spec.drift_exclude],
                                 [f for f in spec.categorical if f not in spec.drift_exclude]),
            drift.prediction_bins(reference_scores),
        ], ignore_index=True),
        latency_ms_per_1000=best["latency_ms_per_1000"],
        artifact_mb=best["artifact_mb"],
        meets_constraints=best["eligible"],
        test_rows=parts["test"],
        evaluated_pipeline=None if deployed is pipeline else pipeline,
        evaluated_threshold=threshold,
        reference_rows=reference_rows[list(spec.features)],
    )


def carry_threshold(evaluated: np.ndarray, deployed: np.ndarray, threshold: float) -> float:
    """Return the deployed model's threshold: the one that flags the same share of test rows.

    The evaluated threshold was chosen on valid for the model fitted on train. The refit model
    has seen more recent rows and its scores sit on another scale (the base rate moved), so the
    same number would flag a different share of customers than the one the policy chose; what
    the team acts on is the share (how many are contacted), so that is what carries over.
    """
    share = float(np.mean(evaluated >= threshold))
    if share <= 0:
        return float(max(threshold, np.max(deployed) + 1e-12))
    # the score of the k-th highest test row, k = the evaluated model's flagged count
    flagged = max(round(share * len(deployed)), 1)
    return float(np.sort(deployed)[::-1][flagged - 1])


def audit_leakage(train: pd.DataFrame, spec: ModelSpec) -> None:
    """Fail when one feature alone separates the target on train beyond the spec's threshold.

    Classification uses the feature's single-feature ROC AUC, regression its absolute
    correlation with the target; features in ``leakage.allow`` are skipped.

    Raises
    ------
    LeakageError
        Naming the feature, its score and how to allow it if it is truly known at as_of.
    """
    limit = spec.max_single_feature_auc
    audited = [f for f in spec.features if f not in spec.leakage_allow
               and (spec.is_classifier or f in spec.numeric)]
    what = "ROC AUC" if spec.is_classifier else "|correlation|"
    single = evaluation.single_feature_auc if spec.is_classifier else evaluation.single_feature_r
    scores = parallel.run_all(single, [(train[f], train[spec.target]) for f in audited])
    for feature, score in zip(audited, scores, strict=True):
        if np.isfinite(score) and score > limit:
            raise LeakageError(
                f"model '{spec.name}': feature '{feature}' alone has {what} {score:.3f} with "
                f"'{spec.target}' on train (limit {limit}); it is probably known only after the "
                "outcome. Remove it, or list it under leakage.allow if it is truly known at as_of."
            )


def search_split(
    spec: ModelSpec, parts: dict[str, pd.DataFrame], X: dict[str, pd.DataFrame],
    y: dict[str, np.ndarray],
) -> tuple[pd.DataFrame, np.ndarray, pd.Series | None, BaseCrossValidator]:
    """Return what the search fits on: rows, labels, groups and the CV splitter.

    Time-indexed data gets time-ordered folds of train (:class:`TimeOrderedSplit`, the as_of
    dates as groups) and snapshot data shuffled, seeded (stratified) K-fold of train. With
    ``search.cv_folds: 0`` the rows are train and valid, and valid is the one test fold
    (``PredefinedSplit``): every parameter set is fitted on train and scored on valid.
    """
    if spec.cv_folds == 0:
        test_fold = np.concatenate([np.full(len(y["train"]), -1), np.zeros(len(y["valid"]), int)])
        return (pd.concat([X["train"], X["valid"]]), np.concatenate([y["train"], y["valid"]]),
                None, PredefinedSplit(test_fold))
    if spec.is_snapshot:
        splitter = (StratifiedKFold if spec.is_classifier else KFold)(
            spec.cv_folds, shuffle=True, random_state=spec.random_state)
        return X["train"], y["train"], None, splitter
    embargo = spec.embargo_days
    if embargo is None:
        embargo = spec.label.horizon_days if spec.label else 0
    return (X["train"], y["train"], parts["train"][spec.as_of],
            TimeOrderedSplit(spec.cv_folds, embargo))


def parameter_search(
    spec: ModelSpec, pipeline: Pipeline, grid: dict[str, list[Any]], scoring: Any,
    cv: BaseCrossValidator,
) -> GridSearchCV | RandomizedSearchCV:
    """Return one candidate's unfitted search: its whole grid, or a seeded sample of it.

    ``search.method: randomized`` samples ``search.n_iter`` sets without replacement; a grid
    no larger than that is searched whole, in grid order (a RandomizedSearchCV would try the
    same sets in another order, and the order breaks ties). ``refit=False``: the search only
    scores; :func:`select_candidate` refits.
    """
    common = {"scoring": scoring, "refit": False, "cv": cv, "error_score": "raise"}
    if spec.search_method == "randomized" and spec.n_iter < len(ParameterGrid(grid)):
        return RandomizedSearchCV(pipeline, grid, n_iter=spec.n_iter,
                                  random_state=spec.random_state, **common)
    return GridSearchCV(pipeline, grid, **common)


def search_scores(estimator: Pipeline, X: pd.DataFrame, y: np.ndarray, *, spec: ModelSpec,
                  cost_rows: pd.DataFrame) -> dict[str, float]:
    """Score one fitted fold of the search: the selection metric, and the Pipeline's cost.

    The metric is :func:`metric_value` of :func:`predict` (the positive-class probability, or
    the prediction), as it is everywhere else in training, and in its own direction (lower is
    better for losses: the search's ``rank_test_score`` is not used). The cost is
    :func:`cost_of` on ``cost_rows`` (valid): measured here because the search keeps no
    fitted Pipeline, and every parameter set needs one for the spec's constraints.
    """
    return {"score": metric_value(y, predict(estimator, X, spec), spec),
            **cost_of(estimator, cost_rows, spec)}


def search_candidates(
    spec: ModelSpec, parts: dict[str, pd.DataFrame], X: dict[str, pd.DataFrame],
    y: dict[str, np.ndarray],
) -> list[dict[str, Any]]:
    """Cross-validate every candidate's parameter sets with scikit-learn; one record per set.

    One search per candidate (:func:`parameter_search`); its (parameter set, fold) fits run
    side by side in threads (:func:`parallel.threads`). A record's cost is that of its last
    fold's Pipeline (fitted on the most rows, the nearest to the refit). With
    ``search.cv_folds: 0`` the one fold is valid: the score is ``valid_score``, and
    ``cv_mean`` and ``cv_std`` are NaN.
    """
    X_fit, y_fit, groups, cv = search_split(spec, parts, X, y)
    scoring = partial(search_scores, spec=spec, cost_rows=X["valid"])
    holdout = spec.cv_folds == 0
    last = f"split{cv.get_n_splits() - 1}_test_"
    records = []
    for candidate in spec.candidates:
        pipeline = build_pipeline(spec, candidate.name, candidate.params)
        # set_params' path to the estimator: the Pipeline step, inside the non-negative wrapper
        prefix = "est__estimator__" if isinstance(pipeline["est"], NonNegativeRegressor) \
            else "est__"
        grid = {prefix + name: values for name, values in candidate.grid.items()}
        search = parameter_search(spec, pipeline, grid, scoring, cv)
        sets = getattr(search, "n_iter", len(ParameterGrid(grid)))
        jobs = min(parallel.n_jobs(), sets * cv.get_n_splits())
        with parallel.threads(jobs):
            results = search.set_params(n_jobs=jobs).fit(X_fit, y_fit, groups=groups).cv_results_
        for number, searched in enumerate(results["params"]):
            records.append({
                "candidate": candidate.name,
                "params": {**candidate.params,
                           **{name.removeprefix(prefix): v for name, v in searched.items()}},
                "cv_mean": np.nan if holdout else float(results["mean_test_score"][number]),
                "cv_std": np.nan if holdout else float(results["std_test_score"][number]),
                "valid_score": float(results["split0_test_score"][number]) if holdout else None,
                "fit_seconds": float(results["mean_fit_time"][number]),
                "latency_ms_per_1000": float(results[f"{last}latency_ms_per_1000"][number]),
                "artifact_mb": float(results[f"{last}artifact_mb"][number]),
            })
    return records


def fit_configuration(spec: ModelSpec, name: str, params: dict[str, Any], X, y) -> Pipeline:
    """Return the Pipeline of one candidate and parameter set, fitted on ``X``, ``y``."""
    return build_pipeline(spec, name, params).fit(X, y)


def fit_and_score(spec: ModelSpec, name: str, params: dict[str, Any], X_fit, y_fit, X_eval,
                  y_eval) -> tuple[Pipeline, float, float, np.ndarray]:
    """Fit one configuration and score it: (pipeline, fit seconds, metric, predictions)."""
    started = time.perf_counter()
    fitted = fit_configuration(spec, name, params, X_fit, y_fit)
    seconds = time.perf_counter() - started
    predicted = predict(fitted, X_eval, spec)
    return fitted, seconds, metric_value(y_eval, predicted, spec), predicted


def select_candidate(records: list[dict[str, Any]], spec: ModelSpec, X, y) -> dict[str, Any]:
    """Refit each candidate's best CV parameters on train and pick the best on valid.

    A parameter set that breaks the spec's latency or size constraint is passed over while any
    other remains; the chosen record says whether it met them (``eligible``). Its latency and
    size are measured again on the final fit. With ``search.cv_folds: 0`` the sets were
    scored on valid by the search already: only the chosen one is refitted on train (the
    search keeps no fitted Pipeline; the refit is the same seeded fit, with the same score).
    """
    sign = 1 if HIGHER_IS_BETTER[spec.selection_metric] else -1
    holdout = spec.cv_folds == 0
    key = "valid_score" if holdout else "cv_mean"
    best: dict[str, dict[str, Any]] = {}
    for record in records:
        record.update(eligible=meets_constraints(record, spec), pipeline=None)
        current = best.get(record["candidate"])
        if current is None or (record["eligible"], sign * record[key]) > (
            current["eligible"], sign * current[key]
        ):
            best[record["candidate"]] = record

    def on_valid(record: dict[str, Any]) -> tuple[bool, float]:
        return record["eligible"], sign * record["valid_score"]

    refits = [max(best.values(), key=on_valid)] if holdout else list(best.values())
    results = parallel.run_all(fit_and_score, [
        (spec, r["candidate"], r["params"], X["train"], y["train"], X["valid"], y["valid"])
        for r in refits])
    for record, (fitted, _, score, predicted) in zip(refits, results, strict=True):
        record.update(pipeline=fitted, valid_score=score, valid_predictions=predicted)
    chosen = max(refits, key=on_valid)
    chosen.update(cost_of(chosen["pipeline"], X["valid"], spec))
    chosen["eligible"] = meets_constraints(chosen, spec)
    return chosen


def meets_constraints(record: dict[str, Any], spec: ModelSpec) -> bool:
    """Return True when a candidate is within the spec's latency and artifact-size limits."""
    limits = spec.problem
    if limits.max_latency_ms_per_1000 is not None and \
            record["latency_ms_per_1000"] > limits.max_latency_ms_per_1000:
        return False
    return limits.max_artifact_mb is None or record["artifact_mb"] <= limits.max_artifact_mb


def cost_of(pipeline: Pipeline, rows: pd.DataFrame, spec: ModelSpec) -> dict[str, float]:
    """Measure a fitted Pipeline's scoring latency per 1,000 rows and its pickled size."""
    sample = rows.iloc[:LATENCY_ROWS]
    started = time.perf_counter()
    predict(pipeline, sample, spec)
    elapsed = (time.perf_counter() - started) * 1000 * LATENCY_ROWS / max(len(sample), 1)
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    return {"latency_ms_per_1000": elapsed, "artifact_mb": buffer.tell() / 2**20}


def predict(pipeline: Pipeline, X: pd.DataFrame, spec: ModelSpec) -> np.ndarray:
    """Return the positive-class probability (classification) or the prediction (regression)."""
    if spec.is_classifier:
        return pipeline.predict_proba(X)[:, 1]
    return pipeline.predict(X)


def metric_value(y: np.ndarray, predicted: np.ndarray, spec: ModelSpec) -> float:
    """Return the spec's selection metric of predictions (no threshold involved)."""
    metric = spec.selection_metric
    if spec.is_classifier:
        return evaluation.classification_metrics(
            y, np.asarray(predicted, dtype=float), 0.5, only=metric)[metric]
    return evaluation.regression_metrics(y, np.asarray(predicted, dtype=float), only=metric)[metric]


def split_metrics(y, predicted, threshold, spec: ModelSpec, rule: bool = False) -> dict[str, float]:
    """Return the task's metrics; a rule's 0/1 output is its own threshold (0.5)."""
    if spec.is_classifier:
        cut = 0.5 if rule or threshold is None else threshold
        return evaluation.classification_metrics(y, np.asarray(predicted, dtype=float), cut)
    return evaluation.regression_metrics(y, np.asarray(predicted, dtype=float))


def baseline_predictions(spec: ModelSpec, parts, X, y) -> dict[str, dict[str, np.ndarray]]:
    """Predictions of the baselines per split: the prior, a plain linear model, the spec's rule."""
    prior = float(np.mean(y["train"]))
    linear_spec = replace(spec, encoding={}, class_weight=None)
    linear_name = "logistic_regression" if spec.is_classifier else "linear_regression"
    linear_params = {"max_iter": 1000} if spec.is_classifier else {}
    linear = build_pipeline(linear_spec, linear_name, linear_params).fit(X["train"], y["train"])
    baselines = {
        "prior": {s: np.full(len(y[s]), prior) for s in SPLITS},
        "linear": {s: predict(linear, X[s], spec) for s in SPLITS},
    }
    if RULE_COLUMN in parts["train"].columns:
        baselines["rule"] = {
            s: pd.to_numeric(p[RULE_COLUMN], errors="coerce").fillna(0).to_numpy(dtype=float)
            for s, p in parts.items()
        }
    return baselines


def window(part: pd.DataFrame, spec: ModelSpec) -> dict[str, Any]:
    """Return a split's data window (first and last as_of) and size."""
    if spec.is_snapshot:
        return {"from": None, "to": None, "rows": len(part)}
    return {"from": str(part[spec.as_of].min())[:10], "to": str(part[spec.as_of].max())[:10],
            "rows": len(part), "as_ofs": int(part[spec.as_of].nunique())}


def evaluation_tables(spec, pipeline, X, y, predictions, threshold, metrics, candidates,
                      curve_fits):
    """Build the evaluation tables stored with the version (records, ready for the warehouse)."""
    tables: dict[str, list[dict[str, Any]]] = {
        "metrics": [
            {"model": key.split("/")[0], "split": key.split("/")[1], "metric": name,
             "value": value}
            for key, values in metrics.items() for name, value in values.items()
        ],
        "candidates": [
            {"candidate": r["candidate"], "params": json.dumps(r["params"], sort_keys=True,
                                                               default=str),
             "cv_mean": r["cv_mean"], "cv_std": r["cv_std"], "fit_seconds": r["fit_seconds"],
             "latency_ms_per_1000": r["latency_ms_per_1000"], "artifact_mb": r["artifact_mb"],
             "meets_constraints": r["eligible"], "valid_score": r["valid_score"],
             "selected": r["pipeline"] is pipeline}
            for r in candidates
        ],
        "curves": [],
        "confusion": [],
        "thresholds": [],
    }
    if spec.is_classifier:
        for split in ("valid", "test"):
            labels, scores = y[split], predictions[split]
            for curve, points in (("roc", evaluation.roc_points(labels, scores)),
                                  ("pr", evaluation.pr_points(labels, scores))):
                x_col, y_col = points.columns[:2]
                tables["curves"] += [
                    {"curve": curve, "split": split, "x": p[x_col], "y": p[y_col],
                     "threshold": p["threshold"]} for p in points.to_dict("records")]
            tables["curves"] += [
                {"curve": "calibration", "split": split, "x": b["mean_score"],
                 "y": b["positive_rate"], "threshold": None, "rows": b["rows"]}
                for b in evaluation.calibration_bins(labels, scores).to_dict("records")]
            tables["confusion"].append(
                {"split": split, "threshold": threshold,
                 **evaluation.confusion(labels, scores, threshold)})
        tables["thresholds"] = evaluation.chosen_threshold_table(
            y["valid"], predictions["valid"], spec.threshold, threshold).to_dict("records")
    tables["importances"] = importances(pipeline, X["valid"], y["valid"], spec)
    tables["learning_curve"] = learning_curve(spec, X, y, predictions, curve_fits)
    tables |= comparison.comparison_tables(spec, X, y, predictions, threshold)
    return tables


def importances(pipeline, X, y, spec: ModelSpec, max_rows: int = 20_000) -> list[dict]:
    """Permutation importances on (a sample of) the valid split, in the selection metric.

    The sample goes through the Pipeline's preprocessing once and each feature's transformed
    columns are permuted (``permutation.permutation_importances`` with groups): the same numbers
    as permuting the raw feature, without transforming every permuted copy (the demo churn
    model: 1.97-2.15 s against 2.44-3.32 s). A sparse transform (many one-hot columns) permutes
    the raw frame instead.
    """
    rng = np.random.default_rng(spec.random_state)
    take = np.sort(rng.choice(len(X), size=min(len(X), max_rows), replace=False))
    sample, labels = X.iloc[take], y[take]
    score = partial(metric_value, spec=spec)
    direction = HIGHER_IS_BETTER[spec.selection_metric]
    transformed = pipeline[:-1].transform(sample)
    if isinstance(transformed, np.ndarray):
        groups = explain.feature_groups(pipeline.named_steps["pre"], tuple(sample.columns))
        means, stds = permutation.permutation_importances(
            transformed, labels, lambda rows: predict_transformed(pipeline, rows, spec), score,
            direction, n_repeats=3, random_state=spec.random_state, groups=groups)
    else:
        means, stds = permutation.permutation_importances(
            sample, labels, lambda frame: predict(pipeline, frame, spec), score, direction,
            n_repeats=3, random_state=spec.random_state)
    return [{"feature": f, "importance_mean": float(m), "importance_std": float(s)}
            for f, m, s in zip(X.columns, means, stds, strict=True)]


LEARNING_CURVE_SHARES = (0.2, 0.5, 1.0)


def learning_curve_sizes(spec: ModelSpec, y_train: np.ndarray) -> list[int]:
    """Return the train sizes of the learning curve: 20%, 50% and 100% of train (at least 50).

    A classifier's share is left out when its rows hold one class only.
    """
    n = len(y_train)
    sizes = []
    for share in LEARNING_CURVE_SHARES:
        size = min(n, max(int(n * share), 50))
        if spec.is_classifier and len(np.unique(y_train[n - size:])) < 2:
            continue
        sizes.append(size)
    return sizes


def learning_curve(spec: ModelSpec, X, y, predictions, curve_fits) -> list[dict[str, Any]]:
    """Train and valid score of the selected configuration fitted on 20%, 50% and 100% of train.

    The shares are the most recent rows of train (train is in as_of order), as a model trained
    on less history would be. ``curve_fits`` maps each size of :func:`learning_curve_sizes` to
    its fitted Pipeline; the full size is the selected one, whose predictions are reused.
    """
    n = len(X["train"])
    points = []
    for size, fitted in sorted(curve_fits.items()):
        rows = slice(n - size, n)
        if size == n:
            train_predicted, valid_predicted = predictions["train"], predictions["valid"]
        else:
            train_predicted = predict(fitted, X["train"].iloc[rows], spec)
            valid_predicted = predict(fitted, X["valid"], spec)
        points.append({
            "train_rows": size,
            "train_score": metric_value(y["train"][rows], train_predicted, spec),
            "valid_score": metric_value(y["valid"], valid_predicted, spec),
        })
    return points


def library_versions() -> dict[str, str]:
    """Return the versions that must match when the artifact is loaded again."""
    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
        "mlmodels": mlmodels.__version__,
    }
