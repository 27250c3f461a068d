"""Warehouse tables that mirror the registry store (rebuilt on every build, never the record).

The store (``mlmodels.registry``) is the record: these functions only read it, so rebuilding the
tables, even with ``--full-refresh``, loses nothing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlmodels.learn.drift import BIN_COLUMNS
from mlmodels.serve import registry

EVALUATION_TABLES = (
    "metrics", "curves", "confusion", "thresholds", "importances", "candidates", "learning_curve",
    "lift", "residuals", "segments",
)
HISTORY_COLUMNS = [
    "model_name", "model_version", "from_status", "to_status", "reason", "changed_at",
]


def status_history(root: str | Path, model_names: list[str]) -> pd.DataFrame:
    """Return every status change of the given models, oldest first.

    Parameters
    ----------
    root
        The store's folder.
    model_names
        The models to include (those in ``ml_model_registry``).

    Returns
    -------
    pandas.DataFrame
        ``HISTORY_COLUMNS``.
    """
    changes = [c for name in sorted(set(model_names))
               for c in registry.ModelRegistry(root, name).history()]
    frame = pd.DataFrame(changes).reindex(columns=HISTORY_COLUMNS).astype(object)
    frame["changed_at"] = pd.to_datetime(frame["changed_at"])
    return frame


def evaluation_table(registry_rows: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return one evaluation table of every registered version, keyed by model and version.

    Parameters
    ----------
    registry_rows
        Rows of ``ml_model_registry`` (model_name, model_version, artifact_uri).
    table
        One of ``EVALUATION_TABLES``.

    Returns
    -------
    pandas.DataFrame
        ``model_name``, ``model_version`` and the table's own columns.
    """
    if table not in EVALUATION_TABLES:
        raise ValueError(f"evaluation table must be one of {EVALUATION_TABLES}, got {table!r}")
    frames = [
        pd.DataFrame(registry.load_evaluation(row.artifact_uri).get(table, [])).assign(
            model_name=row.model_name, model_version=row.model_version)
        for row in registry_rows.itertuples(index=False)
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({"model_name": pd.Series(dtype=object),
                             "model_version": pd.Series(dtype=object)})
    frame = pd.concat(frames, ignore_index=True)
    keys = ["model_name", "model_version"]
    return frame[keys + [c for c in frame.columns if c not in keys]]


def reference_bins(registry_rows: pd.DataFrame) -> pd.DataFrame:
    """Return the reference bins of every registered version, read from the store.

    Returns
    -------
    pandas.DataFrame
        ``model_name``, ``model_version`` and ``mlmodels.drift.BIN_COLUMNS``.
    """
    frames = [
        pd.DataFrame(registry.load_metadata(row.artifact_uri)["reference_bins"],
                     columns=BIN_COLUMNS).assign(model_name=row.model_name,
                                                 model_version=row.model_version)
        for row in registry_rows.itertuples(index=False)
    ]
    columns = ["model_name", "model_version", *BIN_COLUMNS]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return frame[columns].astype({"lower_edge": "float64", "upper_edge": "float64",
                                  "category": object, "model_name": object,
                                  "model_version": object, "feature": object,
                                  "feature_type": object})
