"""Score rows with a registered Pipeline, one Arrow record batch at a time."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.pipeline import Pipeline

from mlmodels.learn import explain
from mlmodels.learn.pipelines import arrow_feature_frame, predict_transformed
from mlmodels.serve import registry
from mlmodels.serve.ahead import ahead
from mlmodels.serve.promotion import features_of, fitted_through
from mlmodels.spec.specs import ModelSpec

BATCH_ROWS = 100_000


def output_schema(spec: ModelSpec, key_types: pa.Schema) -> pa.Schema:
    """Return the schema of a scores table: who scored, what was scored, and the score."""
    return pa.schema([
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("role", pa.string()),
        (spec.entity_key, key_types.field(spec.entity_key).type),
        (spec.score_column, key_types.field(spec.score_column).type),
        ("score", pa.float64()),
        ("threshold", pa.float64()),
        ("predicted_label", pa.int32()),
        ("backfill", pa.bool_()),
        ("scored_at", pa.timestamp("us")),
        *EXPLANATION_FIELDS,
    ])


# Reason codes (spec explain.top_k; null without): always present, so turning them on or off
# never changes the incremental table's columns. See mlmodels.learn.explain. A scores table
# written before they existed gains them (mlmodels.engine.session.add_missing_columns).
EXPLANATION_FIELDS = pa.schema([
    ("raw_score", pa.float64()),
    ("base_value", pa.float64()),
    ("explanation_method", pa.string()),
    ("reason_features", pa.list_(pa.string())),
    ("reason_contributions", pa.list_(pa.float64())),
    ("reasons", pa.string()),
])
EXPLANATION_COLUMNS = tuple(EXPLANATION_FIELDS.names)


def score_batches(
    pipeline: Pipeline,
    batches: pa.RecordBatchReader,
    spec: ModelSpec,
    model_version: str,
    role: str = "champion",
    threshold: float | None = None,
) -> pa.RecordBatchReader:
    """Score a stream of rows batch by batch with one Pipeline, so memory does not grow.

    Parameters
    ----------
    pipeline
        The fitted Pipeline loaded from the registry.
    batches
        Rows holding the spec's entity key, as_of column and features.
    spec
        The model spec the Pipeline was trained from (its resolved features).
    model_version, role
        Written on every output row (role is ``champion`` or ``challenger``).
    threshold
        The registered decision threshold: ``predicted_label`` is ``score >= threshold``.
        None for regression (the score is the prediction; no label).

    Returns
    -------
    pyarrow.RecordBatchReader
        Lazily scored rows with the columns of :func:`output_schema`; the score is
        ``predict_proba(...)[:, 1]`` (the probability of the positive class) for a classifier
        and ``predict(...)`` for a regressor.
    """
    scorer = Scorer(pipeline, spec, model_version, role, threshold)
    return score_registered([scorer], batches, spec)


@dataclass(frozen=True)
class Scorer:
    """One registered version ready to score: its Pipeline, features, role and threshold."""

    pipeline: Pipeline
    spec: ModelSpec
    model_version: str
    role: str
    threshold: float | None
    trained_through: pd.Timestamp | None = None  # the last as_of it was fitted on: scores later
    # The verified artifact bytes and the registry fields that vouch for them: a scorer pickled
    # to another process (a Spark worker) travels as these and is checked again there.
    shipped: tuple[bytes, dict[str, Any]] | None = field(default=None, repr=False)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle as the artifact's bytes, re-verified on unpickling (see ``registry.load_shipped``)."""
        if self.shipped is None:
            raise TypeError(f"scorer of model version {self.model_version} carries no verified "
                            "artifact bytes; build it with registered_scorers to send it")
        return (_unpickled_scorer, (self.shipped, self.spec, self.model_version, self.role,
                                    self.threshold, self.trained_through))


# The registry fields load_shipped reads: enough to check the bytes, not the whole row.
_SHIPPED_FIELDS = ("model_name", "model_version", "artifact_uri", "artifact_sha256",
                   "sklearn_version", "numpy_version", "estimator_library",
                   "estimator_library_version")


def _unpickled_scorer(shipped: tuple[bytes, dict[str, Any]], spec: ModelSpec,
                      model_version: str, role: str, threshold: float | None,
                      trained_through: pd.Timestamp | None) -> Scorer:
    data, row = shipped
    return Scorer(registry.load_shipped(data, row), spec, model_version, role, threshold,
                  trained_through, shipped)


def registered_scorers(registry_rows: pd.DataFrame, spec: ModelSpec) -> list[Scorer]:
    """Load the champion (role ``champion``) and every challenger (role ``challenger``).

    The role is the version's registry status when it scored (``ml_model_registry.status``
    may change later); rows written before mlmodels 0.2 say ``shadow``, and
    the predictions and realised performance tables read those as ``challenger``.

    Each artifact is verified (sha256, signature, library versions) before it is unpickled.

    Raises
    ------
    LookupError
        If the model has no champion: until a version meets the success criterion and beats
        the rule, nothing is scored.
    """
    rows = registry_rows[registry_rows["model_name"] == spec.name]
    champions = rows[rows["status"] == "champion"]
    if len(champions) != 1:
        raise LookupError(
            f"model '{spec.name}' has {len(champions)} champions in the registry, expected one: "
            "until a version meets the success criterion and beats the rule, nothing is scored "
            "(see status and reason in ml_model_registry)"
        )
    scorers = [_scorer(champions.iloc[0].to_dict(), "champion", spec)]
    for _, row in rows[rows["status"] == "challenger"].iterrows():
        try:
            scorers.append(_scorer(row.to_dict(), "challenger", spec))
        except (registry.ArtifactError, registry.LibraryMismatchError) as error:
            # A challenger that cannot be loaded must not stop the champion's scores.
            warnings.warn(f"challenger scoring skipped: {error}", stacklevel=2)
    return scorers


def _scorer(row: dict, role: str, spec: ModelSpec) -> Scorer:
    """Load one registered version (verified) as a scorer."""
    threshold = None if pd.isna(row.get("threshold")) else float(row["threshold"])
    data = registry.verified_bytes(row)
    shipped = (data, {name: row.get(name) for name in _SHIPPED_FIELDS})
    return Scorer(joblib.load(io.BytesIO(data)), features_of(spec, row), row["model_version"],
                  role, threshold, fitted_through(row), shipped)


def score_registered(
    scorers: list[Scorer], batches: pa.RecordBatchReader, spec: ModelSpec,
    live_as_of: Any = None, scored_at: datetime | None = None,
) -> pa.RecordBatchReader:
    """Score each batch with every scorer (champion and challengers), reading the rows once.

    A scorer skips the rows of as_ofs inside its own training window (``trained_through``), and
    rows of any as_of other than ``live_as_of`` (when given) are flagged ``backfill``.

    Returns
    -------
    pyarrow.RecordBatchReader
        One output batch per input batch and scorer (columns of :func:`output_schema`).
    """
    schema = output_schema(spec, batches.schema)
    # One time for the whole run, given by the caller when batches are scored in many processes.
    scored_at = scored_at or datetime.now(UTC).replace(tzinfo=None)

    def read() -> Iterator[list[tuple[Scorer, pa.RecordBatch, np.ndarray, pd.DataFrame, Any]]]:
        """Step 1: each batch's rows for each scorer, their feature frame and its transform.

        The transform (imputers, scaler, encoders) is mostly single-threaded Python; the
        estimator's predict in step 2 is compiled code on every core, so the two overlap.
        """
        for batch in batches:
            if batch.num_rows == 0:
                continue
            as_of = (pd.to_datetime(batch.column(spec.as_of).to_pandas()) if spec.as_of
                     else None)
            work = []
            for scorer in scorers:
                kept, backfill = _rows_for(scorer, batch, as_of, live_as_of)
                if kept is not None:
                    features = arrow_feature_frame(kept, scorer.spec)
                    work.append((scorer, kept, backfill, features,
                                 scorer.pipeline[:-1].transform(features)))
            yield work

    def scored() -> Iterator[pa.RecordBatch]:
        """Step 2: predict (and explain), one output batch per input batch and scorer."""
        # Built here, where the batches are scored (a Spark worker), once per scorer.
        explainers = {id(scorer): _explainer(scorer, spec) for scorer in scorers}
        for work in ahead(read(), name="mlmodels-score-read"):
            for scorer, kept, backfill, features, transformed in work:
                yield _scored_batch(scorer, kept, features, transformed, spec, schema, scored_at,
                                    backfill, explainers[id(scorer)])

    # Step 3, writing, is the caller's: it runs while the next batches are read and predicted.
    return pa.RecordBatchReader.from_batches(schema,
                                             ahead(scored(), name="mlmodels-score-predict"))


def _rows_for(scorer: Scorer, batch: pa.RecordBatch, as_of: pd.Series | None,
              live_as_of: Any) -> tuple[pa.RecordBatch | None, np.ndarray]:
    """Return the rows of a batch a scorer scores (None if none) and their backfill flags.

    A scorer skips the as_ofs inside its own training window; rows of an as_of other than
    ``live_as_of`` (when given) are backfill.
    """
    size = batch.num_rows
    keep = (np.ones(size, dtype=bool) if as_of is None or scorer.trained_through is None
            else (as_of > scorer.trained_through).to_numpy())
    if not keep.any():
        return None, np.zeros(0, dtype=bool)
    backfill = (np.zeros(size, dtype=bool) if live_as_of is None or as_of is None
                else (as_of != pd.Timestamp(live_as_of)).to_numpy())
    return (batch if keep.all() else batch.filter(pa.array(keep))), backfill[keep]


def _explainer(scorer: Scorer, spec: ModelSpec) -> explain.Explainer | None:
    """Return the scorer's explainer when the spec asks for reason codes and the artifact can."""
    if spec.explain_top_k <= 0:
        return None
    if not explain.has_reference(scorer.pipeline):
        # An artifact from before explanations existed: its scores still count.
        warnings.warn(f"model '{spec.name}' version {scorer.model_version} ({scorer.role}): no "
                      "explanations, the artifact carries no training reference (trained before "
                      "explain existed); the next version trained has one", stacklevel=2)
        return None
    return explain.Explainer(scorer.pipeline, scorer.spec, scorer.model_version)


def _explanation_arrays(explainer, features: pd.DataFrame, transformed, spec, schema,
                        size) -> list[pa.Array]:
    """Return the explanation columns of one batch (nulls without an explainer)."""
    if explainer is None:
        return [pa.nulls(size, schema.field(name).type) for name in EXPLANATION_COLUMNS]
    found = explainer.explain(features, transformed)
    reasons = explain.top_reasons(found, features, spec.explain_top_k, explainer.reference)
    return [pa.array(found.raw_score, pa.float64()), pa.array(found.base_value, pa.float64()),
            constant(found.method, pa.string(), size), reasons["reason_features"],
            reasons["reason_contributions"], reasons["reasons"]]


def constant(value: Any, kind: pa.DataType, size: int) -> pa.Array:
    """Return ``size`` copies of one value, built in Arrow rather than from a Python list.

    A list of 100,000 strings or timestamps costs 17-25 ms per column and batch; this, under
    0.5 ms.
    """
    return pa.repeat(pa.scalar(value, kind), size)


def _scored_batch(scorer, batch, features, transformed, spec, schema, scored_at, backfill,
                  explainer=None) -> pa.RecordBatch:
    """Score one transformed batch with one scorer (and explain the scores with an explainer)."""
    score = predict_transformed(scorer.pipeline, transformed, spec)
    size = batch.num_rows
    label = (pa.nulls(size, pa.int32()) if scorer.threshold is None
             else pa.array((score >= scorer.threshold).astype(np.int32), pa.int32()))
    return pa.RecordBatch.from_arrays(
        [
            constant(spec.name, pa.string(), size),
            constant(scorer.model_version, pa.string(), size),
            constant(scorer.role, pa.string(), size),
            batch.column(spec.entity_key),
            batch.column(spec.score_column),
            pa.array(score, pa.float64()),
            constant(scorer.threshold, pa.float64(), size),
            label,
            pa.array(backfill, pa.bool_()),
            constant(scored_at, pa.timestamp("us"), size),
            *_explanation_arrays(explainer, features, transformed, spec, schema, size),
        ],
        schema=schema,
    )
