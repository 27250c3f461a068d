"""The ``ml_model_specs`` table: each spec's fields that the SQL layers read when dbt compiles.

The ``mlmodels.model_spec`` macro parses ``spec_json``; so generated dbt files name a model and
their refs, never a threshold, a column or a window copied from its spec.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from mlmodels.spec.specs import ModelSpec, SpecError, load

SPEC_TABLE_COLUMNS = ["model_name", "task", "target", "entity_key", "score_column", "training_set",
                      "spec_path", "spec_json"]


def spec_table(spec_dir: Path, names: list[str]) -> pd.DataFrame:
    """Return one row per ML model of the project: the spec fields the SQL layers read.

    Parameters
    ----------
    spec_dir
        The folder of the specs, ``<project>/ml``.
    names
        The models (the ``ml_models`` var): ``<spec_dir>/<name>.yml`` each.

    Returns
    -------
    pandas.DataFrame
        :data:`SPEC_TABLE_COLUMNS`; ``spec_json`` holds :func:`sql_fields` as JSON, which the
        ``mlmodels.model_spec`` macro parses when a monitoring node compiles.

    Raises
    ------
    SpecError
        If a spec is missing or invalid, or names another model than its file.
    """
    rows = []
    for name in names:
        path = Path(spec_dir) / f"{name}.yml"
        spec = load(path)
        if spec.name != name:
            raise SpecError(f"spec {path}: name is '{spec.name}', but the ml_models var "
                                  f"lists it as '{name}' (they must be the same)")
        rows.append({"model_name": name, "task": spec.task, "target": spec.target,
                     "entity_key": spec.entity_key, "score_column": spec.score_column,
                     "training_set": spec.training_set, "spec_path": str(path),
                     "spec_json": json.dumps(sql_fields(spec), sort_keys=True)})
    return pd.DataFrame(rows, columns=SPEC_TABLE_COLUMNS).astype(object)


def sql_fields(spec: ModelSpec) -> dict[str, Any]:
    """Return the fields of a spec that the dbt macros read (``mlmodels.model_spec``)."""
    label = spec.label
    return {
        "name": spec.name, "task": spec.task, "entity_key": spec.entity_key, "as_of": spec.as_of,
        "score_column": spec.score_column, "target": spec.target, "snapshot": spec.is_snapshot,
        "training_set": spec.training_set, "attributes": list(spec.categorical),
        "tier1": list(spec.tier1), "drift_moderate": spec.drift_moderate,
        "drift_threshold": spec.drift_threshold,
        "performance_margin": spec.monitoring.performance_margin,
        "rate_gap": spec.monitoring.rate_gap, "rate_window": spec.monitoring.rate_window,
        "label": None if label is None else {
            "mart": label.mart, "events": label.events, "timestamp": label.timestamp,
            "horizon_days": label.horizon_days, "where": label.where, "value": label.value,
            "absent": label.absent},
        "valid_periods": spec.valid_periods, "test_periods": spec.test_periods,
        "embargo_days": spec.embargo_days, "gates": list(spec.gates),
        "snapshot_mart": spec.snapshot.mart,
        "score_where": spec.snapshot.score_where,
        "capacity": spec.problem.capacity, "capacity_share": spec.problem.capacity_share,
    }


def mart_keys(specs: Any, mart: str | None,
              meta: dict[str, Any] | None = None) -> tuple[list[str], str | None]:
    """Return a gated mart's key columns and label column (None unless a model trains on it).

    Parameters
    ----------
    specs
        The ``ml_model_specs`` table (a relation or a DataFrame): the keys are the entity key and
        as_of of the first model (by name) that gates ``mart``; the label is the target
        of the model whose training set it is. None: ``meta["keys"]`` and ``meta["label"]``.
    mart
        The gated mart's name.
    meta
        Used only without ``specs``: files generated before the spec table gave ``keys`` and
        ``label`` in their meta.
    """
    if specs is None:
        meta = meta or {}
        return list(meta.get("keys") or []), meta.get("label")
    frame = specs.df() if hasattr(specs, "df") else specs
    gating = [json.loads(text) for _, text in sorted(zip(frame.model_name, frame.spec_json,
                                                          strict=True))]
    gating = [fields for fields in gating if mart in fields["gates"]]
    if not gating:
        return [], None
    first = gating[0]
    keys = [first["entity_key"], *([first["as_of"]] if first["as_of"] else [])]
    label = next((fields["target"] for fields in gating
                  if fields["training_set"] == mart), None)
    return keys, label
