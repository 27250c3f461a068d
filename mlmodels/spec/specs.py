"""Model specs: one YAML file per ML model, validated when it is loaded.

A spec opens with the problem framing (the decision, the success criterion, a rule-based baseline,
constraints) and then declares the data and the workflow. Everything but ``name``, ``target`` and
``features`` has a default; see ``docs/specs.md`` and ``dbt_project/ml/*.yml`` for examples.

A spec is read in two steps: the declarative schema (:mod:`mlmodels.spec.schema`: types, ranges,
defaults, unknown fields) and then the rules that tie fields together (:func:`from_dict`), into
the frozen :class:`ModelSpec` the rest of the package uses. Every error names the spec, the field
and what was expected.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from mlmodels.spec import estimators, schema
from mlmodels.spec.threshold_policy import parse_threshold_policy
from mlmodels.spec.value_types import (
    PSI_DRIFT,
    PSI_MODERATE,
    SEARCH_METRICS,
    TASK_METRICS,
    Choice,
    Columns,
)

Task = Literal["binary_classification", "regression"]

# Metric names and whether higher is better; "at threshold" metrics need a decision threshold.
HIGHER_IS_BETTER: dict[str, bool] = {
    "roc_auc": True, "pr_auc": True, "log_loss": False, "brier": False,
    "precision": True, "recall": True, "f1": True, "accuracy": True,
    "rmse": False, "mae": False, "r2": True,
}
# The fields that say what a model is for or how it is watched, not what is trained (besides
# the problem's decision and capacity): no fitted pipeline, evaluation or record stored with a
# version reads them, so editing them makes no new model version (see ModelSpec.fingerprint).
UNVERSIONED_FIELDS: tuple[str, ...] = (
    "description", "monitoring", "tier1", "drift_moderate", "drift_threshold", "explain_top_k")
UNVERSIONED_PROBLEM_FIELDS: tuple[str, ...] = ("decision", "capacity", "capacity_share")
SNAPSHOT_DATE = "snapshot_date"  # the column that stamps a snapshot model's scores


class SpecError(ValueError):
    """A spec is malformed: the message names the spec, the field and what was expected."""


@dataclass(frozen=True)
class Candidate:
    """An estimator (a short name or an import path), fixed parameters and a grid to search."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """The framing the workflow starts from."""

    decision: str = ""
    success_metric: str | None = None
    success_target: float | None = None
    rule_baseline: str | None = None
    max_latency_ms_per_1000: float | None = None
    max_artifact_mb: float | None = None
    capacity: int | None = None  # entities acted on per as_of (the top-ranked)
    capacity_share: float | None = None  # or this share of each as_of's rows, rounded up


@dataclass(frozen=True)
class Label:
    """How the generated training set computes the label (see ``mlmodels new``)."""

    mart: str
    events: str
    timestamp: str
    horizon_days: int
    where: str = "true"
    value: str | None = None  # None: 1 if any matching event lies in the window; else sum(value)
    absent: bool = False  # 1 if NO matching event lies in the window (churn as "no purchase")


@dataclass(frozen=True)
class Snapshot:
    """Where a snapshot model (``as_of: null``) finds its rows, and which of them it scores."""

    mart: str | None = None  # mlmodels new writes the training set over it (one row per entity)
    score_where: str | None = None  # SQL filter: these rows are scored too (e.g. still active)


@dataclass(frozen=True)
class Monitoring:
    """How the warehouse watches a model after training (see ``docs/specs.md``, monitoring)."""

    backfill: bool = True  # the champion also scores every as_of after its training window
    performance_margin: float = 0.05  # realised ROC AUC below test by more (RMSE: relative)
    rate_gap: float = 0.15  # mean prediction vs actual, as a fraction of the actual
    rate_window: int = 3  # matured as_ofs the rates are pooled over
    retrain_on_signal: bool = False  # train only when the retrain signal (or the spec) says so


@dataclass(frozen=True)
class ModelSpec:
    """A validated ML model spec (the parsed form of ``dbt_project/ml/<name>.yml``).

    ``numeric`` and ``categorical`` hold column names, or ``include:``/``exclude:`` patterns until
    :meth:`resolve` matches them against the training set's columns.
    """

    name: str
    target: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    entity_key: str = "entity_id"
    as_of: str | None = "as_of_date"
    training_set: str = ""
    split_column: str = "split"
    task: Task = "binary_classification"
    description: str = ""
    problem: Problem = field(default_factory=Problem)
    label: Label | None = None
    valid_periods: int = 3
    test_periods: int = 3
    embargo_days: int | None = None
    valid_fraction: float = 0.2
    test_fraction: float = 0.2
    numeric_patterns: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    categorical_patterns: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    encoding: dict[str, str] = field(default_factory=dict)
    tier1: tuple[str, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    search_method: Literal["grid", "randomized"] = "grid"
    n_iter: int = 10
    cv_folds: int = 3
    selection_metric: str = "roc_auc"
    threshold: Any = "max_f1"
    class_weight: str | None = None
    promotion_margin: float = 0.0
    promotion_guard: bool = True  # a version trained on data shifted from the champion's waits
    drift_moderate: float = PSI_MODERATE
    drift_threshold: float = PSI_DRIFT
    drift_exclude: tuple[str, ...] = ()  # grow by construction (tenure, lifetime totals)
    max_single_feature_auc: float = 0.95
    leakage_allow: tuple[str, ...] = ()
    gates: tuple[str, ...] = ()
    quarantine: bool = False
    random_state: int = 0
    monitoring: Monitoring = field(default_factory=Monitoring)
    snapshot: Snapshot = field(default_factory=Snapshot)
    deploy_refit: Literal["all", "train"] = "all"
    non_negative: bool = False
    explain_top_k: int = 0  # reason codes per scored row (0: none); read by scoring only

    @property
    def score_column(self) -> str:
        """The date column of the scores: the as_of column, or ``snapshot_date`` for snapshots."""
        return self.as_of or SNAPSHOT_DATE

    @property
    def features(self) -> tuple[str, ...]:
        """All feature columns, numeric first (after :meth:`resolve` when patterns are used)."""
        return (*self.numeric, *self.categorical)

    @property
    def is_snapshot(self) -> bool:
        """True for data without an as_of column: one row per entity, a stratified random split."""
        return self.as_of is None

    @property
    def is_classifier(self) -> bool:
        """True for binary classification."""
        return self.task == "binary_classification"

    def fingerprint(self) -> str:
        """Return a sha256 of the spec's content, stable across key order and formatting.

        This is the spec's part of the model version (:func:`mlmodels.learn.training.model_version`
        adds the training data and the code versions). The rule: a field counts when it changes
        what a version is: its fitted pipelines, their evaluation, or what is stored with it
        (the reference bins, which ``drift.exclude`` shapes). Left out are the fields that say
        what the model is for or how it is watched (:data:`UNVERSIONED_FIELDS` and
        :data:`UNVERSIONED_PROBLEM_FIELDS`): ``description``, ``problem.decision``,
        ``problem.capacity``, ``problem.capacity_share``, ``monitoring.*``,
        ``features.tier1``, ``drift.moderate``, ``drift.drift`` and ``explain.top_k`` (scoring
        reads it; explanations change no fit). The monitoring SQL reads
        them when it compiles; ``tier1`` and ``drift.drift`` are also read when a new version is
        compared with the champion (the promotion guard), so an edit applies from the next
        version trained, without training one now. The capacity is read by the predictions
        table only (which rows are selected): a version's threshold, metrics and artifact do
        not depend on it, so a team whose capacity changes keeps its version.
        """
        content = asdict(self)
        for unversioned in UNVERSIONED_FIELDS:
            content.pop(unversioned)
        for unversioned in UNVERSIONED_PROBLEM_FIELDS:
            content["problem"].pop(unversioned)
        canonical = json.dumps(content, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def resolve(self, columns: list[str] | tuple[str, ...]) -> ModelSpec:
        """Return the spec with explicit feature lists matched against the training set's columns.

        Raises
        ------
        SpecError
            If a listed feature is not a column of the training set, or a pattern matches none.
        """
        available = [c for c in columns if c not in self._reserved()]
        where = f"spec '{self.name}': training set '{self.training_set}'"
        for column in (*self.numeric, *self.categorical, *self.tier1, *self.encoding,
                       *self.drift_exclude):
            if column not in columns:
                raise SpecError(f"{where} has no column '{column}' (unknown feature column)")
        numeric = self._match(self.numeric_patterns, available, self.numeric, where, "numeric")
        categorical = self._match(
            self.categorical_patterns, available, self.categorical, where, "categorical"
        )
        numeric = tuple(c for c in numeric if c not in categorical)
        if not numeric and not categorical:
            raise SpecError(f"{where}: the feature selection matches no column")
        return replace(self, numeric=numeric, categorical=categorical,
                       numeric_patterns=None, categorical_patterns=None)

    def _reserved(self) -> set[str]:
        return {self.entity_key, self.as_of or SNAPSHOT_DATE, self.target, self.split_column,
                "is_label_mature"}

    @staticmethod
    def _match(patterns, available, explicit, where, kind) -> tuple[str, ...]:
        if patterns is None:
            return explicit
        include, exclude = patterns
        chosen = []
        for pattern in include:
            hits = [c for c in available if fnmatch.fnmatchcase(c, pattern)]
            if not hits:
                raise SpecError(f"{where}: features.{kind} include pattern '{pattern}' matches no column")
            chosen += [c for c in hits if c not in chosen]
        for pattern in exclude:
            # A pattern that excludes nothing is most often a typo that lets a column in.
            if not any(fnmatch.fnmatchcase(c, pattern) for c in chosen):
                raise SpecError(
                    f"{where}: features.{kind} exclude pattern '{pattern}' matches none of the "
                    f"included columns {list(chosen)}; fix the pattern or remove it")
        return tuple(c for c in chosen if not any(fnmatch.fnmatchcase(c, p) for p in exclude))


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
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SpecError(f"spec file {path} is not valid YAML: {error}") from error
    return from_dict(raw, source=str(path))



def from_dict(raw: Any, source: str = "<dict>") -> ModelSpec:
    """Validate a spec given as a mapping (what the YAML file holds); see :func:`load`.

    The mapping is validated against the schema (:mod:`mlmodels.spec.schema`) first, then by
    the rules that tie its fields together.

    Raises
    ------
    SpecError
        If a field is unknown, missing or malformed: the message names the spec, the field and
        what was expected.
    """
    if not isinstance(raw, dict):
        raise SpecError(f"spec {source}: expected a mapping at the top level, got {type(raw).__name__}")
    failing = _Failing(raw.get("name", "<unnamed>"), source)
    try:
        document = schema.SpecDocument.model_validate(raw)
    except ValidationError as error:
        # pydantic's own report lists every error in its words; one, in the spec's, is enough.
        raise failing(*schema.problem_of(error)) from None
    return _spec(document, failing)


class _Failing:
    """Makes the SpecError of one spec: the spec, the field and what was expected."""

    def __init__(self, name: Any, source: str):
        self.name, self.source = name, source

    def __call__(self, field_name: str, expected: str) -> SpecError:
        return SpecError(f"spec '{self.name}' ({self.source}): field '{field_name}': expected "
                         f"{expected}")

    def check(self, leaf: Any, value: Any, field_name: str) -> Any:
        """Validate ``value`` with a leaf type of the schema, as the schema would."""
        try:
            return leaf.check(value)
        except PydanticCustomError as error:
            raise self(field_name + error.context["at"], error.context["expected"]) from None


def _spec(doc: schema.SpecDocument, fail: _Failing) -> ModelSpec:
    """Apply the rules that tie a valid document's fields together; return its ModelSpec."""
    task, features, label, given = doc.task, doc.features, doc.label, doc.model_fields_set
    classifier = task == "binary_classification"
    numeric, numeric_patterns = _feature_list(features.numeric)
    categorical, categorical_patterns = _feature_list(features.categorical)
    if not (numeric or categorical or numeric_patterns or categorical_patterns):
        raise fail("features", "at least one numeric or categorical column")
    overlap = sorted(set(numeric) & set(categorical))
    if overlap:
        raise fail("features", f"each column in one list only; {overlap[0]} is in both")
    clash = sorted({doc.target, doc.entity_key, doc.as_of} & {*numeric, *categorical})
    if clash:
        raise fail("features", f"no key or target columns among the features; found {clash[0]}")
    for column in features.encoding:
        if column in numeric:
            raise fail(f"features.encoding.{column}", "a categorical column")

    success = doc.problem.success
    if success is not None:
        fail.check(Choice(TASK_METRICS[task]), success.metric, "problem.success.metric")
    if doc.problem.capacity is not None and doc.problem.capacity_share is not None:
        raise fail("problem.capacity_share", "capacity (a number of entities) or "
                   "capacity_share (a share of the rows scored), not both")
    if label is not None and label.absent and label.value is not None:
        raise fail("label.absent", "absent (1 when no event matches) or value (a sum), not both")
    if doc.snapshot.model_fields_set and doc.as_of is not None:
        raise fail("snapshot", "no snapshot block for a time-indexed spec (as_of is "
                   f"'{doc.as_of}'); set as_of: null for one row per entity")
    if doc.snapshot.model_fields_set and label is not None:
        raise fail("label", "no label block for a snapshot spec: the target is a column of "
                   "snapshot.mart")
    if doc.non_negative and task != "regression":
        raise fail("non_negative", "a regression model (a classifier's score is a probability "
                   "already)")
    selection = doc.selection_metric if "selection_metric" in given else (
        "roc_auc" if classifier else "rmse")
    fail.check(Choice(SEARCH_METRICS[task]), selection, "selection_metric")
    threshold = "max_f1"
    if classifier and "threshold" in given:
        try:
            threshold = parse_threshold_policy(doc.threshold)
        except ValueError as error:
            raise fail("threshold", str(error).removeprefix("threshold policy: expected ")) from error
    elif "threshold" in given:
        raise fail("threshold", "no threshold for a regression model")
    if doc.class_weight is not None and not classifier:
        raise fail("class_weight", "no class weighting for a regression model")
    if doc.drift.drift < doc.drift.moderate:
        raise fail("drift.drift", f"a PSI at least drift.moderate ({doc.drift.moderate})")
    embargo = doc.split.embargo_days
    if label is not None and embargo is not None and embargo < label.horizon_days:
        # A shorter gap lets the label windows of one split reach into the next: leakage.
        raise fail("split.embargo_days",
                   f"at least the label horizon ({label.horizon_days} days), got {embargo}")
    candidates = _candidates(doc.candidates, task, fail)
    both = sorted(set(doc.drift.exclude) & set(features.tier1))
    if both:
        # Features that grow by construction drift every month: excluded, they get no bins.
        raise fail("drift.exclude", f"features outside tier1 (tier-1 drift triggers "
                   f"retraining); {both[0]} is in both")
    training_set = doc.training_set or f"ml_{doc.name}__training_set"
    # The marts validated before training and scoring: by default the label's mart and the
    # training set (each needs a suite in expectations/<mart>.json).
    gates = doc.quality.gates
    if gates is None:
        gates = fail.check(Columns(), [*([label.mart] if label else []), training_set],
                           "quality.gates")
    problem, split, search = doc.problem, doc.split, doc.search
    return ModelSpec(
        name=doc.name, target=doc.target, numeric=tuple(numeric),
        categorical=tuple(categorical), entity_key=doc.entity_key, as_of=doc.as_of,
        training_set=training_set, split_column=doc.split_column, task=task,
        description=doc.description,
        problem=Problem(
            decision=problem.decision,
            success_metric=None if success is None else success.metric,
            success_target=None if success is None else success.target,
            rule_baseline=problem.rule_baseline,
            max_latency_ms_per_1000=problem.constraints.max_latency_ms_per_1000,
            max_artifact_mb=problem.constraints.max_artifact_mb,
            capacity=problem.capacity, capacity_share=problem.capacity_share),
        label=None if label is None else Label(**label.model_dump()),
        valid_periods=split.valid_periods, test_periods=split.test_periods,
        embargo_days=embargo, valid_fraction=split.valid_fraction,
        test_fraction=split.test_fraction, numeric_patterns=numeric_patterns,
        categorical_patterns=categorical_patterns, encoding=dict(features.encoding),
        tier1=tuple(features.tier1), candidates=candidates, search_method=search.method,
        n_iter=search.n_iter, cv_folds=search.cv_folds, selection_metric=selection,
        threshold=threshold, class_weight=doc.class_weight,
        promotion_margin=doc.promotion.margin, promotion_guard=doc.promotion.guard,
        drift_moderate=doc.drift.moderate, drift_threshold=doc.drift.drift,
        drift_exclude=tuple(doc.drift.exclude),
        max_single_feature_auc=doc.leakage.max_single_feature_auc,
        leakage_allow=tuple(doc.leakage.allow), gates=tuple(gates),
        quarantine=doc.quality.quarantine, random_state=doc.random_state,
        monitoring=Monitoring(**doc.monitoring.model_dump()),
        snapshot=Snapshot(mart=doc.snapshot.mart, score_where=doc.snapshot.score_where),
        deploy_refit=doc.deploy.refit, non_negative=doc.non_negative,
        explain_top_k=doc.explain.top_k,
    )


def _feature_list(value: Any) -> tuple[list[str], tuple[tuple[str, ...], tuple[str, ...]] | None]:
    """Return a feature list's columns, or no columns and its (include, exclude) patterns."""
    if isinstance(value, schema.FeaturePatterns):
        return [], (tuple(value.include), tuple(value.exclude))
    return list(value), None


def _candidates(entries: list[schema.Candidate] | None, task: str,
                fail: _Failing) -> tuple[Candidate, ...]:
    """Return the candidates, checked against the task's estimators and their parameters.

    A short name must be one of the task's; an import path is imported and checked
    (:func:`mlmodels.spec.estimators.resolve`). Every name under ``params`` and ``grid`` must be
    a parameter of the class (its ``get_params``), and the error lists the valid ones. Each
    fixed parameter set and each grid value alone must pass the class's own value check
    (scikit-learn's, where it has one), so a bad value fails the spec, not the search.
    """
    if entries is None:
        return (Candidate("logistic_regression" if task == "binary_classification" else "ridge"),)
    parsed = []
    for index, entry in enumerate(entries):
        where = f"candidates[{index}]"
        try:
            cls = estimators.resolve(entry.name, task)
        except estimators.EstimatorProblem as problem:
            raise fail(f"{where}.name", str(problem)) from None
        label = estimators.label_of(entry.name, task)
        for block, names in (("params", entry.params), ("grid", entry.grid)):
            for parameter in names:
                try:
                    estimators.check_parameter(cls, parameter, label)
                except estimators.EstimatorProblem as problem:
                    raise fail(f"{where}.{block}.{parameter}", str(problem)) from None
        try:
            estimators.check_instance(cls, dict(entry.params), task, label)
        except estimators.EstimatorProblem as problem:
            raise fail(f"{where}.params", str(problem)) from None
        for parameter, values in entry.grid.items():
            for value in values:
                try:
                    estimators.check_grid_value(cls, dict(entry.params), parameter, value, label)
                except estimators.EstimatorProblem as problem:
                    raise fail(f"{where}.grid.{parameter}", str(problem)) from None
        parsed.append(Candidate(entry.name, dict(entry.params),
                                {k: list(v) for k, v in entry.grid.items()}))
    return tuple(parsed)
