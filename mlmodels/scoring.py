"""Score rows with a registered Pipeline, one Arrow record batch at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.pipeline import Pipeline

from mlmodels import registry
from mlmodels.pipelines import feature_frame
from mlmodels.promotion import features_of
from mlmodels.specs import ModelSpec
from mlmodels.training import predict

BATCH_ROWS = 100_000


def output_schema(spec: ModelSpec, key_types: pa.Schema) -> pa.Schema:
    """Return the schema of a scores table: who scored, what was scored, and the score."""
    return pa.schema([
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("role", pa.string()),
        (spec.entity_key, key_types.field(spec.entity_key).type),
        (spec.as_of, key_types.field(spec.as_of).type),
        ("score", pa.float64()),
        ("threshold", pa.float64()),
        ("predicted_label", pa.int32()),
        ("scored_at", pa.timestamp("us")),
    ])


def score_batches(
    pipeline: Pipeline,
    batches: pa.RecordBatchReader,
    spec: ModelSpec,
    model_version: str,
    role: str = "champion",
    threshold: float | None = None,
) -> pa.RecordBatchReader:
    """Score a stream of rows batch by batch, so memory does not grow with the row count.

    Parameters
    ----------
    pipeline
        The fitted Pipeline loaded from the registry.
    batches
        Rows holding the spec's entity key, as_of column and features.
    spec
        The model spec the Pipeline was trained from.
    model_version, role
        Written on every output row (role is ``champion`` or ``shadow``).
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
    schema = output_schema(spec, batches.schema)
    scored_at = datetime.now(UTC).replace(tzinfo=None)

    def scored() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            rows = batch.to_pandas()
            score = predict(pipeline, feature_frame(rows, spec), spec)
            size = batch.num_rows
            label = None if threshold is None else (score >= threshold).astype(np.int32)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array([spec.name] * size, pa.string()),
                    pa.array([model_version] * size, pa.string()),
                    pa.array([role] * size, pa.string()),
                    batch.column(spec.entity_key),
                    batch.column(spec.as_of),
                    pa.array(score, pa.float64()),
                    pa.array([threshold] * size, pa.float64()),
                    pa.array(label, pa.int32()) if label is not None else pa.nulls(size, pa.int32()),
                    pa.array([scored_at] * size, pa.timestamp("us")),
                ],
                schema=schema,
            )

    return pa.RecordBatchReader.from_batches(schema, scored())


def score_champion(
    registry_rows: pd.DataFrame, batches: pa.RecordBatchReader, spec: ModelSpec
) -> pa.RecordBatchReader:
    """Score rows with the model's champion, loaded after its sha256 is checked.

    Parameters
    ----------
    registry_rows
        The model's registry rows (``promotion.REGISTRY_COLUMNS``).
    batches
        The rows to score (see :func:`score_batches`).
    spec
        The model spec.

    Returns
    -------
    pyarrow.RecordBatchReader
        The scored rows, role ``champion``.

    Raises
    ------
    LookupError
        If the model has no champion yet.
    """
    found = registry_rows[(registry_rows["model_name"] == spec.name)
                          & (registry_rows["status"] == "champion")]
    if len(found) != 1:
        raise LookupError(
            f"model '{spec.name}' has {len(found)} champions in the registry, expected one: "
            "until a version meets the success criterion and beats the rule, nothing is scored "
            "(see status and reason in ml_model_registry)"
        )
    champion = found.iloc[0].to_dict()
    pipeline = registry.load_pipeline(
        champion["artifact_uri"], champion["artifact_sha256"], champion["model_version"]
    )
    return score_batches(pipeline, batches, features_of(spec, champion),
                         champion["model_version"], role="champion",
                         threshold=champion.get("threshold"))
