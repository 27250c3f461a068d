"""Score rows with a registered Pipeline, one Arrow record batch at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
from sklearn.pipeline import Pipeline

from mlmodels import registry
from mlmodels.pipelines import feature_frame
from mlmodels.specs import ModelSpec

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
        ("scored_at", pa.timestamp("us")),
    ])


def score_batches(
    pipeline: Pipeline,
    batches: pa.RecordBatchReader,
    spec: ModelSpec,
    model_version: str,
    role: str = "champion",
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

    Returns
    -------
    pyarrow.RecordBatchReader
        Lazily scored rows with the columns of :func:`output_schema`; the score is
        ``predict_proba(...)[:, 1]``, the probability of the positive class.
    """
    schema = output_schema(spec, batches.schema)
    scored_at = datetime.now(UTC).replace(tzinfo=None)

    def scored() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            rows = batch.to_pandas()
            probability = pipeline.predict_proba(feature_frame(rows, spec))[:, 1]
            size = batch.num_rows
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array([spec.name] * size, pa.string()),
                    pa.array([model_version] * size, pa.string()),
                    pa.array([role] * size, pa.string()),
                    batch.column(spec.entity_key),
                    batch.column(spec.as_of),
                    pa.array(probability, pa.float64()),
                    pa.array([scored_at] * size, pa.timestamp("us")),
                ],
                schema=schema,
            )

    return pa.RecordBatchReader.from_batches(schema, scored())


def champion_row(registry_rows: pd.DataFrame, model_name: str) -> dict[str, Any]:
    """Return the registry row of a model's champion.

    Raises
    ------
    LookupError
        If the model has no champion in the registry.
    """
    found = registry_rows[
        (registry_rows["model_name"] == model_name) & (registry_rows["status"] == "champion")
    ]
    if len(found) != 1:
        raise LookupError(
            f"model '{model_name}': expected one champion in ml_model_registry, found {len(found)}"
        )
    return found.iloc[0].to_dict()


def score_champion(
    registry_rows: pd.DataFrame, batches: pa.RecordBatchReader, spec: ModelSpec
) -> pa.RecordBatchReader:
    """Score rows with the model's champion, loaded from the store after its sha256 is checked.

    Parameters
    ----------
    registry_rows
        The registry table (``ml_model_registry``).
    batches
        The rows to score (see :func:`score_batches`).
    spec
        The model spec.

    Returns
    -------
    pyarrow.RecordBatchReader
        The scored rows, role ``champion``.
    """
    champion = champion_row(registry_rows, spec.name)
    pipeline = registry.load_pipeline(
        champion["artifact_uri"], champion["artifact_sha256"], champion["model_version"]
    )
    return score_batches(pipeline, batches, spec, champion["model_version"], role="champion")
