"""The entry points dbt Python models call: each one line of a model file.

A model passes its relations (DuckDB relations from ``dbt.ref``) and its ``meta`` config:
``spec`` (the spec file), ``store`` (the registry and artifact store's folder) and, for
training, ``pin`` (a version to pin as champion, from the ``champion_pins`` var).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from mlmodels import mirror, promotion, scoring, specs, training


def train(training_set: Any, meta: dict[str, Any]) -> pd.DataFrame:
    """Train (or find unchanged) a version of the spec's model; return its registry rows.

    Parameters
    ----------
    training_set
        The model's training set relation.
    meta
        ``spec``, ``store`` and optionally ``pin``.

    Returns
    -------
    pandas.DataFrame
        Every registered version of the model, with its status.
    """
    spec = specs.load(meta["spec"])
    rows = training.rows_with_rule(training_set, spec)
    return promotion.train_and_register(rows, spec, meta["store"], meta.get("pin") or None)


def score(training_set: Any, registered: Any, meta: dict[str, Any]) -> pa.RecordBatchReader:
    """Score the training set's ``score`` rows with the champion, streamed in record batches.

    Parameters
    ----------
    training_set
        The model's training set relation.
    registered
        The model's registry rows (``ml_<name>__train``), where the champion is looked up.
    meta
        ``spec`` and ``store``.
    """
    spec = specs.load(meta["spec"])
    rows = training_set.filter(f"{spec.split_column} = 'score'")
    return scoring.score_champion(
        registered.df(), rows.to_arrow_reader(scoring.BATCH_ROWS), spec)


def evaluation(registry_table: Any, table: str) -> pd.DataFrame:
    """Return one evaluation table (see ``mirror.EVALUATION_TABLES``) of every version."""
    return mirror.evaluation_table(registry_table.df(), table)


def status_history(registry_table: Any, meta: dict[str, Any]) -> pd.DataFrame:
    """Return every status change of every registered model."""
    names = [row[0] for row in registry_table.project("model_name").distinct().fetchall()]
    return mirror.status_history(meta["store"], names)


def reference_bins(registry_table: Any) -> pd.DataFrame:
    """Return the reference bins of every registered version."""
    return mirror.reference_bins(registry_table.df())
