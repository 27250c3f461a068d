"""Model specs: one YAML file per ML model, validated when it is loaded."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

Task = Literal["binary_classification"]
TASKS: tuple[str, ...] = ("binary_classification",)
_FIELDS = {
    "name", "description", "training_set", "entity_key", "as_of", "split_column", "target",
    "task", "features", "estimator", "random_state",
}


class SpecError(ValueError):
    """A spec is malformed: the message names the spec, the field and what was expected."""


@dataclass(frozen=True)
class EstimatorSpec:
    """An estimator by registry name (see ``mlmodels.pipelines.ESTIMATORS``) and its parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    """A validated ML model spec.

    Parameters
    ----------
    name
        The model's name; dbt models of it are called ``ml_<name>__*``.
    target
        The label column of the training set.
    numeric, categorical
        Feature columns of the training set.
    entity_key, as_of
        The key columns: one row per entity per as_of date.
    training_set
        The dbt model the training rows come from.
    split_column
        The column holding train | valid | test | embargo | score.
    task
        The learning task.
    estimator
        The estimator to fit after preprocessing.
    random_state
        Seed for every random choice in training.
    description
        What decision the model supports, in words.
    """

    name: str
    target: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    entity_key: str
    as_of: str = "as_of_date"
    training_set: str = ""
    split_column: str = "split"
    task: Task = "binary_classification"
    estimator: EstimatorSpec = field(default_factory=lambda: EstimatorSpec("logistic_regression"))
    random_state: int = 0
    description: str = ""

    @property
    def features(self) -> tuple[str, ...]:
        """All feature columns, numeric first."""
        return (*self.numeric, *self.categorical)

    def fingerprint(self) -> str:
        """Return a sha256 of the spec's content, stable across key order and formatting."""
        canonical = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def load(path: str | Path) -> ModelSpec:
    """Load and validate a spec from a YAML file.

    Parameters
    ----------
    path
        The spec file, e.g. ``dbt_project/ml/churn.yml``. A relative path is read from the
        current directory (dbt runs Python models in the directory it was started from).

    Returns
    -------
    ModelSpec
        The validated spec.

    Raises
    ------
    SpecError
        If the file is missing, is not a YAML mapping, or a field is missing or malformed.

    Examples
    --------
    >>> spec = load("dbt_project/ml/churn.yml")  # doctest: +SKIP
    >>> spec.target  # doctest: +SKIP
    'churned_90d'
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file {path} not found (resolved to {path.resolve()})")
    raw = yaml.safe_load(path.read_text())
    return from_dict(raw, source=str(path))


def from_dict(raw: Any, source: str = "<dict>") -> ModelSpec:
    """Validate a spec given as a mapping (what the YAML file holds); see :func:`load`."""
    if not isinstance(raw, dict):
        raise SpecError(f"spec {source}: expected a mapping at the top level, got {type(raw).__name__}")
    name = raw.get("name", "<unnamed>")

    def fail(field_name: str, expected: str) -> SpecError:
        return SpecError(f"spec '{name}' ({source}): field '{field_name}': expected {expected}")

    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise fail(unknown[0], f"one of the known fields {sorted(_FIELDS)}")
    for required in ("name", "target", "entity_key", "features"):
        if required not in raw:
            raise fail(required, "a value (the field is required)")
    for text_field in ("name", "target", "entity_key", "as_of", "training_set", "split_column"):
        if text_field in raw and not (isinstance(raw[text_field], str) and raw[text_field]):
            raise fail(text_field, "a non-empty string")
    task = raw.get("task", "binary_classification")
    if task not in TASKS:
        raise fail("task", f"one of {list(TASKS)}, got {task!r}")

    features = raw["features"]
    if not isinstance(features, dict) or set(features) - {"numeric", "categorical"}:
        raise fail("features", "a mapping with the keys numeric and/or categorical")
    numeric = _column_list(features.get("numeric", []), fail, "features.numeric")
    categorical = _column_list(features.get("categorical", []), fail, "features.categorical")
    if not numeric and not categorical:
        raise fail("features", "at least one numeric or categorical column")
    overlap = sorted(set(numeric) & set(categorical))
    if overlap:
        raise fail("features", f"each column in one list only; {overlap[0]} is in both")
    keys = {raw["target"], raw["entity_key"], raw.get("as_of", "as_of_date")}
    clash = sorted(keys & set(numeric + categorical))
    if clash:
        raise fail("features", f"no key or target columns among the features; found {clash[0]}")

    estimator = raw.get("estimator", {"name": "logistic_regression"})
    if not isinstance(estimator, dict) or not isinstance(estimator.get("name"), str):
        raise fail("estimator", "a mapping with a name, e.g. {name: logistic_regression}")
    from mlmodels.pipelines import ESTIMATORS  # the registry of names lives beside the pipelines

    if estimator["name"] not in ESTIMATORS:
        raise fail("estimator.name", f"one of {sorted(ESTIMATORS)}, got {estimator['name']!r}")
    params = estimator.get("params", {}) or {}
    if not isinstance(params, dict):
        raise fail("estimator.params", "a mapping of parameter names to values")
    random_state = raw.get("random_state", 0)
    if not isinstance(random_state, int) or isinstance(random_state, bool):
        raise fail("random_state", "an integer")

    return ModelSpec(
        name=raw["name"],
        description=str(raw.get("description", "")),
        target=raw["target"],
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        entity_key=raw["entity_key"],
        as_of=raw.get("as_of", "as_of_date"),
        training_set=raw.get("training_set", f"ml_{raw['name']}__training_set"),
        split_column=raw.get("split_column", "split"),
        task=task,
        estimator=EstimatorSpec(estimator["name"], dict(params)),
        random_state=random_state,
    )


def _column_list(value: Any, fail: Any, field_name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise fail(field_name, "a list of column names")
    if len(set(value)) != len(value):
        raise fail(field_name, "each column once")
    return list(value)
