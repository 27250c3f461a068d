"""Fit a spec's Pipeline on the training split, evaluate it, and register the artifact."""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline

import mlmodels
from mlmodels import drift, registry
from mlmodels.pipelines import build_pipeline, feature_frame
from mlmodels.specs import ModelSpec

SPLITS = ("train", "valid", "test")


class TrainingDataError(ValueError):
    """The training rows cannot be used: a missing column, an empty split, a bad label."""


@dataclass(frozen=True)
class TrainedModel:
    """A fitted Pipeline and everything measured while fitting it."""

    spec: ModelSpec
    pipeline: Pipeline
    version: str
    metrics: dict[str, dict[str, float]]
    windows: dict[str, dict[str, Any]]
    threshold: float
    reference_bins: pd.DataFrame


def train_and_register(
    rows: pd.DataFrame, spec: ModelSpec, artifact_root: str | Path
) -> pd.DataFrame:
    """Fit and register a model version, or return the stored one if nothing changed.

    Parameters
    ----------
    rows
        The training set (see :func:`fit`).
    spec
        The validated model spec.
    artifact_root
        The artifact store's folder.

    Returns
    -------
    pandas.DataFrame
        The version's registry row. Unchanged spec, data and code give the same version, found in
        the store without fitting again.
    """
    check_training_rows(rows, spec)
    version = model_version(spec, labelled_rows(rows, spec))
    artifact = registry.version_dir(artifact_root, spec.name, version) / registry.PIPELINE_FILE
    if artifact.is_file() and (artifact.parent / registry.METADATA_FILE).is_file():
        return registry_row(registry.load_metadata(artifact), artifact)
    return register(fit(rows, spec), artifact_root)


def labelled_rows(rows: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Return the train, valid and test rows in a fixed order (as_of, entity)."""
    labelled = rows[rows[spec.split_column].isin(SPLITS)]
    # A fixed row order makes the fit reproducible whatever order the warehouse returned.
    return labelled.sort_values([spec.as_of, spec.entity_key], kind="stable")


def check_training_rows(rows: pd.DataFrame, spec: ModelSpec) -> None:
    """Raise :class:`TrainingDataError` naming the training set and column if rows are unusable."""
    where = f"model '{spec.name}', training set '{spec.training_set}'"
    needed = [spec.entity_key, spec.as_of, spec.split_column, spec.target, *spec.features]
    missing = [column for column in needed if column not in rows.columns]
    if missing:
        raise TrainingDataError(f"{where}: column '{missing[0]}' is missing (spec expects it)")
    for split in SPLITS:
        if not (rows[spec.split_column] == split).any():
            raise TrainingDataError(
                f"{where}: split '{split}' has no rows; the data may cover too few as_of dates "
                "for the split and embargo periods"
            )
    labelled = rows[rows[spec.split_column].isin(SPLITS)]
    labels = labelled[spec.target]
    if labels.isna().any():
        raise TrainingDataError(f"{where}: column '{spec.target}' is null on labelled rows")
    if not labels.isin([0, 1]).all():
        raise TrainingDataError(f"{where}: column '{spec.target}' must hold 0 or 1 only")
    if labelled.loc[labelled[spec.split_column] == "train", spec.target].nunique() < 2:
        raise TrainingDataError(f"{where}: column '{spec.target}' has one class only in train")


def data_fingerprint(rows: pd.DataFrame, spec: ModelSpec) -> str:
    """Return a sha256 of the labelled rows' content, independent of row order."""
    columns = [spec.entity_key, spec.as_of, spec.split_column, spec.target, *spec.features]
    hashed = pd.util.hash_pandas_object(rows[columns], index=False).to_numpy()
    return hashlib.sha256(np.sort(hashed).tobytes()).hexdigest()


def model_version(spec: ModelSpec, rows: pd.DataFrame) -> str:
    """Return the content-addressed version: spec, training data and code version together."""
    parts = [spec.fingerprint(), data_fingerprint(rows, spec), mlmodels.__version__,
             sklearn.__version__]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def fit(rows: pd.DataFrame, spec: ModelSpec) -> TrainedModel:
    """Fit the spec's Pipeline on the train split and evaluate it on valid and test.

    Parameters
    ----------
    rows
        The training set: the spec's features, target, keys and split column. Rows of split
        embargo and score are ignored.
    spec
        The validated model spec.

    Returns
    -------
    TrainedModel
        The fitted Pipeline, metrics per split (and for the prior baseline), the data window of
        each split, the threshold that maximises F1 on valid, and the reference bins of train.

    Raises
    ------
    TrainingDataError
        If a column is missing, a split is empty or the label is not binary.
    """
    check_training_rows(rows, spec)
    labelled = labelled_rows(rows, spec)
    parts = {split: labelled[labelled[spec.split_column] == split] for split in SPLITS}

    pipeline = build_pipeline(spec)
    train = parts["train"]
    pipeline.fit(feature_frame(train, spec), train[spec.target].to_numpy(dtype=int))

    scores = {s: pipeline.predict_proba(feature_frame(p, spec))[:, 1] for s, p in parts.items()}
    labels = {s: p[spec.target].to_numpy(dtype=int) for s, p in parts.items()}
    prior = float(labels["train"].mean())
    metrics = {s: classification_metrics(labels[s], scores[s]) for s in SPLITS}
    metrics.update({
        f"baseline_{s}": classification_metrics(labels[s], np.full(len(labels[s]), prior))
        for s in SPLITS
    })
    windows = {
        s: {"from": str(p[spec.as_of].min())[:10], "to": str(p[spec.as_of].max())[:10],
            "rows": len(p), "positive_rate": float(labels[s].mean())}
        for s, p in parts.items()
    }
    return TrainedModel(
        spec=spec,
        pipeline=pipeline,
        version=model_version(spec, labelled),
        metrics=metrics,
        windows=windows,
        threshold=max_f1_threshold(labels["valid"], scores["valid"]),
        reference_bins=drift.reference_bins(train, spec.numeric, spec.categorical),
    )


def classification_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Return ROC AUC, PR AUC, log loss and Brier score of scores against 0/1 labels."""
    clipped = np.clip(scores, 1e-15, 1 - 1e-15)
    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "pr_auc": float(average_precision_score(labels, scores)),
        "log_loss": float(log_loss(labels, clipped, labels=[0, 1])),
        "brier": float(brier_score_loss(labels, scores)),
    }


def max_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """Return the score threshold (predict positive when score >= it) with the highest F1."""
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def register(trained: TrainedModel, artifact_root: str | Path) -> pd.DataFrame:
    """Store the artifact (unless this version is already stored) and return its registry row.

    The version is a content hash, so re-running on unchanged data finds the same folder and
    returns the same row without writing anything.

    Returns
    -------
    pandas.DataFrame
        One row with the registry columns (see ``ml_model_registry``'s YAML).
    """
    spec = trained.spec
    artifact = registry.version_dir(artifact_root, spec.name, trained.version) / registry.PIPELINE_FILE
    if artifact.is_file() and (artifact.parent / registry.METADATA_FILE).is_file():
        metadata = registry.load_metadata(artifact)
    else:
        metadata = {
            "model_name": spec.name,
            "model_version": trained.version,
            "trained_at": datetime.now(UTC).replace(tzinfo=None).isoformat(),
            "spec_hash": spec.fingerprint(),
            "task": spec.task,
            "estimator": spec.estimator.name,
            "features": list(spec.features),
            "threshold": trained.threshold,
            "windows": trained.windows,
            "metrics": trained.metrics,
            "library_versions": library_versions(),
            "reference_bins": trained.reference_bins.to_dict(orient="records"),
        }
        _, sha = registry.save(trained.pipeline, metadata, artifact_root, spec.name, trained.version)
        metadata["artifact_sha256"] = sha
    return registry_row(metadata, artifact)


def registry_row(metadata: dict[str, Any], artifact: Path) -> pd.DataFrame:
    """Flatten an artifact's metadata into one registry row."""
    windows, metrics = metadata["windows"], metadata["metrics"]
    row: dict[str, Any] = {
        "model_name": metadata["model_name"],
        "model_version": metadata["model_version"],
        "trained_at": pd.Timestamp(metadata["trained_at"]),
        "spec_hash": metadata["spec_hash"],
        "task": metadata["task"],
        "estimator": metadata["estimator"],
    }
    for split in SPLITS:
        row[f"{split}_from"] = pd.Timestamp(windows[split]["from"]).date()
        row[f"{split}_to"] = pd.Timestamp(windows[split]["to"]).date()
        row[f"{split}_rows"] = windows[split]["rows"]
    for split in ("valid", "test"):
        for name in ("roc_auc", "pr_auc", "log_loss", "brier"):
            row[f"{split}_{name}"] = metrics[split][name]
            row[f"baseline_{split}_{name}"] = metrics[f"baseline_{split}"][name]
    row["train_roc_auc"] = metrics["train"]["roc_auc"]
    row["threshold"] = metadata["threshold"]
    row["artifact_uri"] = str(artifact)
    row["artifact_sha256"] = metadata["artifact_sha256"]
    for library, version in metadata["library_versions"].items():
        row[f"{library}_version"] = version
    return pd.DataFrame([row])


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
