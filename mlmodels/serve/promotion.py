"""Register a trained version and decide its status: champion, challenger or rejected.

The rules, in order:

1. a version that misses the spec's success criterion, does not beat the rule-based baseline, or
   breaks a constraint (latency, artifact size) is **rejected** and never promoted;
2. the first acceptable version of a model becomes **champion**;
3. a later one replaces the champion only if it beats it by ``promotion.margin`` in the selection
   metric **on the same evaluation window** (the new version's test rows, scored by both);
   otherwise it stays **challenger** and the champion stays;
4. ``champion_pins`` pins any registered version as champion (rollback in one command).

When to train at all: whenever the labelled data or the spec change (a new content-hashed
version), unless the spec sets ``monitoring.retrain_on_signal``: then, once a champion exists, only
when the spec changed or the latest retrain signal recommends it (:func:`retrain_decision`).

Every status change is recorded with its reason and time (``ModelRegistry.history``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlmodels.learn import drift
from mlmodels.learn.pipelines import feature_frame
from mlmodels.learn.training import (
    TrainedModel,
    estimator_library,
    fit,
    library_versions,
    metric_value,
    model_version,
    predict,
    prepare,
)
from mlmodels.serve import registry
from mlmodels.spec.specs import HIGHER_IS_BETTER, ModelSpec

LOG = logging.getLogger(__name__)

# The registry table's columns, the same for every model and task (BI depends on them).
REGISTRY_COLUMNS = [
    "model_name", "model_version", "status", "reason", "trained_at", "promoted_at", "task",
    "spec_hash", "split_strategy", "estimator", "params", "numeric_features",
    "categorical_features", "train_from", "train_to", "train_rows", "valid_from", "valid_to",
    "valid_rows", "test_from", "test_to", "test_rows", "fit_rows", "fit_from", "fit_to",
    "selection_metric", "train_score", "valid_score", "test_score", "train_valid_gap",
    "baseline_prior_test_score", "baseline_linear_test_score", "baseline_rule_test_score",
    "lift_over_prior", "lift_over_linear", "threshold", "success_metric", "success_target",
    "success_value", "met_criterion", "beat_rule", "meets_constraints",
    "latency_ms_per_1000", "artifact_mb", "artifact_uri", "artifact_sha256", "artifact_signature",
    "deploy_refit", "evaluated_threshold", "evaluated_artifact_uri", "evaluated_artifact_sha256",
    "evaluated_artifact_signature", "python_version", "sklearn_version", "numpy_version", "pandas_version", "joblib_version",
    "mlmodels_version", "estimator_library", "estimator_library_version",
]


def train_and_register(
    rows: pd.DataFrame, spec: ModelSpec, root: str | Path, pin: str | None = None,
    signal: dict[str, Any] | None = None, warnings: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Train a version (unless this data and spec were trained before), register it, promote.

    Parameters
    ----------
    rows
        The training set (see :func:`mlmodels.training.fit`).
    spec
        The validated model spec.
    root
        The registry and artifact store's folder.
    pin
        A registered version to make champion whatever the rules say (rollback), or None.
    signal
        The latest retrain signal row of the previous build, or None.
    warnings
        The failed warn-level expectations of this build's gates (``expectation``,
        ``column_name``, ``as_of``), or None: with the promotion guard, one on an as_of the new
        version adds to the champion's fit window keeps the new version challenger.

    Returns
    -------
    pandas.DataFrame
        The model's registry rows (every version, ``REGISTRY_COLUMNS``), after this run.
    """
    registry.signing_key()  # a missing or short key fails now, not after minutes of training
    store = registry.ModelRegistry(root, spec.name)
    prepared = prepare(rows, spec)  # once: for the version, and for the fit if it is new
    resolved, labelled, _ = prepared
    version = model_version(resolved, labelled)
    train, why = retrain_decision(store, resolved, signal)
    LOG.info("model %s: %s", spec.name, why)
    if train and store.get(version) is None:
        trained = fit(rows, spec, prepared, version)
        status, reason = decide(trained, store, warnings)
        artifact, sha = registry.save_version(
            trained.pipeline, metadata(trained), trained.evaluation, root, spec.name,
            trained.version)
        evaluated = None
        if trained.evaluated_pipeline is not None:
            evaluated = registry.save_evaluated(trained.evaluated_pipeline, root, spec.name,
                                                trained.version)
        store.register(registry_row(trained, artifact, sha, evaluated), status, reason)
    if pin:
        current = store.champion()
        if current is None or current["model_version"] != pin:
            store.set_status(pin, "champion", "pinned as champion by the champion_pins var")
    return registry_frame(store.versions())


def retrain_decision(
    store: registry.ModelRegistry, spec: ModelSpec, signal: dict[str, Any] | None
) -> tuple[bool, str]:
    """Return whether to train a new version now, and why.

    Parameters
    ----------
    store
        The model's registry.
    spec
        The resolved spec (its fingerprint is compared with the champion's ``spec_hash``).
    signal
        The latest row of ``ml_<name>__retrain_signal`` from the previous build, or None.
    """
    if not spec.monitoring.retrain_on_signal:
        return True, "trains whenever the labelled data or the spec change"
    champion = store.champion()
    if champion is None:
        return True, "retrain_on_signal: no champion yet, training"
    if champion.get("spec_hash") != spec.fingerprint():
        return True, "retrain_on_signal: the spec changed since the champion, training"
    if signal and bool(signal.get("retrain_recommended")):
        return True, f"retrain_on_signal: the retrain signal says {signal.get('reasons')}"
    return False, ("retrain_on_signal: the latest retrain signal does not recommend retraining; "
                   "keeping the registry as it is")


def decide(trained: TrainedModel, store: registry.ModelRegistry,
           warnings: pd.DataFrame | None = None) -> tuple[str, str]:
    """Return the new version's status and the reason, by the rules in this module's docstring.

    ``warnings`` are the failed warn-level expectations of the build's gates (see
    :func:`train_and_register`).
    """
    spec = trained.spec
    failures = []
    met, value = met_criterion(trained)
    if met is False:
        failures.append(f"test {spec.problem.success_metric} {value:.4f} misses the success "
                        f"target {spec.problem.success_target}")
    if beat_rule(trained) is False:
        failures.append(f"does not beat the rule baseline ({spec.problem.rule_baseline}) on test")
    if not trained.meets_constraints:
        failures.append("breaks the latency or artifact-size constraint")
    if failures:
        return "rejected", "; ".join(failures)
    champion = store.champion()
    if champion is None:
        return "champion", first_champion_reason(trained)
    shifts = []
    if spec.promotion_guard:
        shifts = training_shift(trained, champion) + new_warnings(trained, champion, warnings)
    if shifts:
        return "challenger", (
            f"its training data shifted from champion {champion['model_version']}'s: "
            + "; ".join(shifts) + "; champion kept (check the data; promotion: {guard: false} "
            "promotes on the metric alone)")
    try:
        champion_score = score_champion_on(trained, champion)
    except (registry.ArtifactError, registry.LibraryMismatchError, KeyError, ValueError) as error:
        reason = (f"champion {champion['model_version']} could not be scored on this version's "
                  f"test window ({error}); champion kept")
        return "challenger", reason
    new_score = trained.score("model", "test")
    margin = spec.promotion_margin
    sign = 1 if HIGHER_IS_BETTER[spec.selection_metric] else -1
    window = f"test window {trained.windows['test']['from']}..{trained.windows['test']['to']}"
    comparison = (f"{spec.selection_metric} {new_score:.4f} vs champion "
                  f"{champion['model_version']} {champion_score:.4f} on {window}")
    if sign * (new_score - champion_score) >= margin and new_score != champion_score:
        return "champion", f"beats the champion by at least {margin}: {comparison}"
    return "challenger", f"does not beat the champion by {margin}: {comparison}"


NULL_SHARE_SHIFT = 0.05  # absolute change in a feature's null share that stops a promotion
ROW_COUNT_RATIO = 2.0  # rows per as_of shrinking or growing by more than this factor stop it too


def training_shift(trained: TrainedModel, champion: dict[str, Any]) -> list[str]:
    """Return how the new version's data differs from the champion's, or [] if it does not.

    Compared on each side's reference window (the rows its drift bins were fitted on): the PSI
    of every tier-1 feature against the champion's bins (features that grow by construction,
    such as tenure, belong outside tier 1),
    at the spec's drift threshold, and every feature's null share (a change of more than
    ``NULL_SHARE_SHIFT``). A champion registered without these records is not compared.
    """
    spec, rows = trained.spec, trained.reference_rows
    if rows is None:
        return []
    try:
        stored = registry.load_metadata(champion["artifact_uri"])
    except registry.ArtifactError:
        return []
    bins = pd.DataFrame(stored.get("reference_bins", []))
    shifts = []
    watched = [f for f in spec.tier1 if f in rows.columns]
    for feature in watched:
        feature_bins = bins[bins.feature == feature] if len(bins) else bins
        if len(feature_bins) == 0:
            continue
        value = drift.psi_against_bins(feature_bins.sort_values("bin_index"), rows[feature])
        if np.isfinite(value) and value >= spec.drift_threshold:
            shifts.append(f"{feature} PSI {value:.3f} >= {spec.drift_threshold}")
    before = stored.get("null_shares") or {}
    for feature, share in drift.null_shares(rows).items():
        if feature in before and abs(share - before[feature]) > NULL_SHARE_SHIFT:
            shifts.append(f"{feature} null share {before[feature]:.1%} -> {share:.1%}")
    old_rows, new_rows = stored.get("rows_per_as_of"), rows_per_as_of(trained)
    if old_rows and new_rows and not (
            1 / ROW_COUNT_RATIO <= new_rows / old_rows <= ROW_COUNT_RATIO):
        shifts.append(f"rows per as_of {old_rows:.0f} -> {new_rows:.0f}")
    return shifts


def rows_per_as_of(trained: TrainedModel) -> float | None:
    """Return the mean number of rows per as_of of the reference window (None: a snapshot)."""
    spec = trained.spec
    if spec.is_snapshot:
        return None
    window = trained.windows.get("test" if spec.deploy_refit == "all" else "train") or {}
    return window["rows"] / window["as_ofs"] if window.get("as_ofs") else None


def new_warnings(trained: TrainedModel, champion: dict[str, Any],
                 warnings: pd.DataFrame | None) -> list[str]:
    """Return the failed warn-level expectations on as_ofs the new version adds, or [].

    Those are the labelled as_ofs after the champion's fit window, up to the new version's:
    data the champion never saw. Warnings on as_ofs both were fitted on (a known, documented
    change) or on unlabelled ones (not trained on) do not stop a promotion.
    """
    if warnings is None or len(warnings) == 0 or "as_of" not in warnings.columns:
        return []
    last = fitted_through(champion)
    upto = (trained.windows.get("fit") or {}).get("to")
    if last is None or upto is None:
        return []
    as_of = pd.to_datetime(warnings["as_of"], errors="coerce")
    new = warnings[(as_of > last) & (as_of <= pd.Timestamp(upto))]
    found = sorted({f"{row.expectation} on {row.column_name or 'the table'} at "
                    f"{pd.Timestamp(row.as_of).date()}" for row in new.itertuples()})
    if not found:
        return []
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    return [f"failed warn-level expectations on its new data: {', '.join(found[:3])}{more}"]


def fitted_through(row: dict[str, Any]) -> pd.Timestamp | None:
    """Return a registry row's last as_of of the deployed fit, or None (a snapshot model).

    That is ``fit_to``; versions registered before refits existed have ``train_to`` only.
    """
    last = row.get("fit_to") if not pd.isna(row.get("fit_to")) else row.get("train_to")
    return None if pd.isna(last) else pd.Timestamp(last)


def first_champion_reason(trained: TrainedModel) -> str:
    """Say why the first acceptable version became champion: only the checks the spec asked for."""
    spec, passed = trained.spec, []
    if spec.problem.success_metric is not None:
        passed.append(f"meets the success criterion ({spec.problem.success_metric} >= "
                      f"{spec.problem.success_target} on test)")
    if beat_rule(trained):
        passed.append("beats the rule baseline on test")
    if spec.problem.max_latency_ms_per_1000 is not None or spec.problem.max_artifact_mb is not None:
        passed.append("meets the constraints")
    checks = " and ".join(passed) if passed else "no success criterion, rule or constraint in the spec"
    return f"first version of the model: {checks}"


def score_champion_on(trained: TrainedModel, champion: dict[str, Any]) -> float:
    """Score the champion on the new version's test rows, in the selection metric.

    The champion's *evaluated* Pipeline (fitted on its train split) is used when it has one: its
    deployed refit may have been fitted on these very rows, which would flatter it.
    """
    pipeline = registry.load_evaluated(champion)
    champion_spec = features_of(trained.spec, champion)
    rows = trained.test_rows
    predicted = predict(pipeline, feature_frame(rows, champion_spec), trained.spec)
    return metric_value(rows[trained.spec.target].to_numpy(), predicted, trained.spec)


def features_of(spec: ModelSpec, row: dict[str, Any]) -> ModelSpec:
    """Return the spec with the feature lists a registered version was trained on."""
    return replace(spec, numeric=tuple(json.loads(row["numeric_features"])),
                   categorical=tuple(json.loads(row["categorical_features"])),
                   numeric_patterns=None, categorical_patterns=None)


def met_criterion(trained: TrainedModel) -> tuple[bool | None, float]:
    """Return whether the test metric reaches the spec's success target (None: no criterion)."""
    metric, target = trained.spec.problem.success_metric, trained.spec.problem.success_target
    if metric is None:
        return None, np.nan
    value = trained.metrics["model/test"][metric]
    return (value >= target if HIGHER_IS_BETTER[metric] else value <= target), value


def beat_rule(trained: TrainedModel) -> bool | None:
    """Return whether the model beats the rule baseline on test (None: the spec has no rule)."""
    if "rule/test" not in trained.metrics:
        return None
    sign = 1 if HIGHER_IS_BETTER[trained.spec.selection_metric] else -1
    return sign * (trained.score("model", "test") - trained.score("rule", "test")) > 0


def metadata(trained: TrainedModel) -> dict[str, Any]:
    """Return what is stored beside the artifact: enough to rebuild the registry row and bins."""
    return {
        "model_name": trained.spec.name,
        "model_version": trained.version,
        "trained_at": registry.now(),
        "spec_hash": trained.spec.fingerprint(),
        "features": {"numeric": list(trained.spec.numeric),
                     "categorical": list(trained.spec.categorical)},
        "threshold": trained.threshold,
        "windows": trained.windows,
        "metrics": trained.metrics,
        "library_versions": library_versions(),
        **estimator_library(trained.spec, trained.estimator),
        "reference_bins": trained.reference_bins.to_dict(orient="records"),
        "null_shares": ({} if trained.reference_rows is None
                        else drift.null_shares(trained.reference_rows)),
        "rows_per_as_of": rows_per_as_of(trained),
    }


def registry_row(trained: TrainedModel, artifact: Path, sha: str,
                 evaluated: tuple[Path, str, str] | None = None) -> dict[str, Any]:
    """Flatten a trained version into one registry row (``REGISTRY_COLUMNS`` but status).

    ``evaluated`` is the evaluated Pipeline's (path, sha256, signature) when the deployed one is
    a refit (``deploy.refit: all``).
    """
    spec, windows = trained.spec, trained.windows
    met, value = met_criterion(trained)
    row: dict[str, Any] = {
        "model_name": spec.name,
        "model_version": trained.version,
        "trained_at": registry.now(),
        "task": spec.task,
        "spec_hash": spec.fingerprint(),
        "split_strategy": trained.split_strategy,
        "estimator": trained.estimator,
        "params": json.dumps(trained.params, sort_keys=True, default=str),
        "numeric_features": json.dumps(list(spec.numeric)),
        "categorical_features": json.dumps(list(spec.categorical)),
        "selection_metric": spec.selection_metric,
        "train_score": trained.score("model", "train"),
        "valid_score": trained.score("model", "valid"),
        "test_score": trained.score("model", "test"),
        "baseline_prior_test_score": trained.score("prior", "test"),
        "baseline_linear_test_score": trained.score("linear", "test"),
        "baseline_rule_test_score": trained.score("rule", "test"),
        "threshold": trained.threshold,
        "success_metric": spec.problem.success_metric,
        "success_target": spec.problem.success_target,
        "success_value": value,
        "met_criterion": met,
        "beat_rule": beat_rule(trained),
        "meets_constraints": trained.meets_constraints,
        "latency_ms_per_1000": trained.latency_ms_per_1000,
        "artifact_mb": trained.artifact_mb,
        "artifact_uri": str(artifact),
        "artifact_sha256": sha,
        "artifact_signature": registry.signature(spec.name, trained.version, sha),
        "deploy_refit": spec.deploy_refit,
        "evaluated_threshold": trained.evaluated_threshold,
        "evaluated_artifact_uri": None if evaluated is None else str(evaluated[0]),
        "evaluated_artifact_sha256": None if evaluated is None else evaluated[1],
        "evaluated_artifact_signature": None if evaluated is None else evaluated[2],
    }
    # Signed so that positive is better (lift) or worse (gap) whatever the metric's direction.
    sign = 1 if HIGHER_IS_BETTER[spec.selection_metric] else -1
    row["train_valid_gap"] = sign * (row["train_score"] - row["valid_score"])
    row["lift_over_prior"] = sign * (row["test_score"] - row["baseline_prior_test_score"])
    row["lift_over_linear"] = sign * (row["test_score"] - row["baseline_linear_test_score"])
    for split in ("train", "valid", "test"):
        row[f"{split}_from"] = windows[split]["from"]
        row[f"{split}_to"] = windows[split]["to"]
        row[f"{split}_rows"] = windows[split]["rows"]
    # The deployed Pipeline's own fit window: every labelled row after a refit, else train.
    fit_window = windows.get("fit", windows["train"])
    row["fit_rows"], row["fit_from"], row["fit_to"] = (
        fit_window["rows"], fit_window["from"], fit_window["to"])
    for library, version in library_versions().items():
        row[f"{library}_version"] = version
    # The package of the chosen estimator (sklearn, lightgbm, xgboost): checked on load too.
    row.update(estimator_library(spec, trained.estimator))
    return row


def registry_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Return registry rows as a frame with the fixed columns and types of the table."""
    frame = pd.DataFrame(rows).reindex(columns=REGISTRY_COLUMNS)
    for column in ("trained_at", "promoted_at"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("train_from", "train_to", "valid_from", "valid_to", "test_from", "test_to",
                   "fit_from", "fit_to"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    for column in ("met_criterion", "beat_rule", "meets_constraints"):
        frame[column] = frame[column].astype("boolean")
    for column in ("threshold", "success_target", "success_value", "baseline_rule_test_score",
                   "evaluated_threshold"):
        frame[column] = frame[column].astype("float64")
    text = [c for c in REGISTRY_COLUMNS if frame[c].dtype == object]
    frame[text] = frame[text].astype(object)
    # Null in every row for versions without a refit (the estimator's library: registered
    # before it was recorded): typed, so the warehouse column is text.
    for column in ("deploy_refit", "evaluated_artifact_uri", "evaluated_artifact_sha256",
                   "evaluated_artifact_signature", "estimator_library",
                   "estimator_library_version"):
        frame[column] = frame[column].astype("string")
    return frame
