"""Model specs: one YAML file per ML model, validated when it is loaded.

A spec opens with the problem framing (the decision, the success criterion, a rule-based baseline,
constraints) and then declares the data and the workflow. Everything but ``name``, ``target`` and
``features`` has a default; see ``docs`` in the README and ``dbt_project/ml/*.yml`` for examples.

Longer than 500 lines because every field of the spec is validated here, with messages that
name the spec, the field and what was expected.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

Task = Literal["binary_classification", "regression"]
TASKS: tuple[str, ...] = ("binary_classification", "regression")

# Metric names and whether higher is better; "at threshold" metrics need a decision threshold.
HIGHER_IS_BETTER: dict[str, bool] = {
    "roc_auc": True, "pr_auc": True, "log_loss": False, "brier": False,
    "precision": True, "recall": True, "f1": True, "accuracy": True,
    "rmse": False, "mae": False, "r2": True,
}
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "binary_classification": (
        "roc_auc", "pr_auc", "log_loss", "brier", "precision", "recall", "f1", "accuracy"
    ),
    "regression": ("rmse", "mae", "r2"),
}
# Metrics a cross-validation search can rank by (no decision threshold involved).
SEARCH_METRICS: dict[str, tuple[str, ...]] = {
    "binary_classification": ("roc_auc", "pr_auc", "log_loss", "brier"),
    "regression": ("rmse", "mae", "r2"),
}
ENCODINGS: tuple[str, ...] = ("onehot", "target")

_TOP_FIELDS = {
    "name", "description", "problem", "task", "entity_key", "as_of", "target", "training_set",
    "split_column", "label", "split", "features", "candidates", "search", "selection_metric",
    "threshold", "class_weight", "promotion", "drift", "leakage", "quality", "random_state",
    "monitoring", "snapshot", "deploy", "non_negative",
}
# Fields that say what a model is for, not how it is trained: editing them makes no new version.
COSMETIC_FIELDS: tuple[str, ...] = ("description", "monitoring")
REFITS: tuple[str, ...] = ("all", "train")
# The usual PSI reading, and the defaults of a spec's drift thresholds (the one place they are
# written): under 0.1 stable, 0.1 to 0.2 moderate, 0.2 and over drift.
PSI_MODERATE = 0.1
PSI_DRIFT = 0.2
SNAPSHOT_DATE = "snapshot_date"  # the column that stamps a snapshot model's scores


# A spec is data, not code: every name it gives a table or column must be a plain identifier, so
# it can be spliced into SQL without quoting tricks (only rule_baseline, label.where, label.value
# and snapshot.score_where are SQL, documented as trusted expressions).
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
PATTERN = re.compile(r"[A-Za-z0-9_*?\[\]!-]{1,63}")


def expression_problem(text: str) -> str | None:
    """Return why a SQL-expression field could leave its expression, or None if it cannot.

    The four SQL fields (``rule_baseline``, ``label.where``, ``label.value``,
    ``snapshot.score_where``) are spliced into a model's select. Outside string literals they may
    not end the statement (``;``), open a comment (``--``, ``/*``) or close a parenthesis they did
    not open: then they cannot run anything but an expression of that select.
    """
    depth, outside = 0, re.sub(r"'(?:[^']|'')*'", "''", text)
    if outside.count("'") % 2:
        return "an unterminated string literal"
    for token in (";", "--", "/*", "*/"):
        if token in outside:
            return f"'{token}' outside a string literal"
    for char in outside:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return "a ')' that closes a parenthesis the expression did not open"
    return "an unclosed '('" if depth else None


class SpecError(ValueError):
    """A spec is malformed: the message names the spec, the field and what was expected."""


@dataclass(frozen=True)
class Candidate:
    """An estimator by registry name, fixed parameters and a grid of parameters to search."""

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

        The description, ``problem.decision`` and the monitoring settings are left out: they say
        what the model is for and how it is watched, not what is trained, so editing them must
        not make a new model version.
        """
        content = asdict(self)
        for cosmetic in COSMETIC_FIELDS:
            content.pop(cosmetic)
        content["problem"].pop("decision")
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
    """Validate a spec given as a mapping (what the YAML file holds); see :func:`load`."""
    if not isinstance(raw, dict):
        raise SpecError(f"spec {source}: expected a mapping at the top level, got {type(raw).__name__}")
    return _Parser(raw, source).parse()


class _Parser:
    """Reads one spec mapping; every error names the spec, the field and what was expected."""

    def __init__(self, raw: dict[str, Any], source: str):
        self.raw = raw
        self.source = source
        self.name = raw.get("name", "<unnamed>")

    def fail(self, field_name: str, expected: str) -> SpecError:
        return SpecError(f"spec '{self.name}' ({self.source}): field '{field_name}': expected {expected}")

    def mapping(self, value: Any, field_name: str, known: set[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(field_name, "a mapping")
        unknown = sorted(set(value) - known)
        if unknown:
            raise self.fail(f"{field_name}.{unknown[0]}", self.known(unknown[0], known))
        return value

    @staticmethod
    def known(unknown: Any, known: set[str]) -> str:
        close = difflib.get_close_matches(str(unknown), sorted(known), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"one of the known fields {sorted(known)}{hint}"

    def identifier(self, value: Any, field_name: str) -> str:
        rule = ("a plain SQL identifier (letters, digits and _, not starting with a digit, at most "
                "63 characters)")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field_name, f"a non-empty string, {rule}, got {value!r}")
        if not IDENTIFIER.fullmatch(value):
            raise self.fail(field_name, f"{rule}, got {value!r}")
        return value

    def text(self, value: Any, field_name: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field_name, "a non-empty string")
        return value

    def number(self, value: Any, field_name: str, low: float, high: float, integer=False) -> Any:
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            kind = "an integer" if integer else "a number"
            raise self.fail(field_name, f"{kind} in [{low}, {high}], got {value!r}")
        return value

    def expression(self, value: Any, field_name: str) -> str:
        text = self.text(value, field_name)
        problem = expression_problem(text)
        if problem:
            raise self.fail(field_name, f"one SQL expression (it runs inside the model's select); "
                            f"found {problem} in {text!r}")
        return text

    def choice(self, value: Any, field_name: str, options: tuple[str, ...]) -> str:
        if value not in options:
            raise self.fail(field_name, f"one of {list(options)}, got {value!r}")
        return value

    def columns(self, value: Any, field_name: str, patterns: bool = False) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(field_name, "a list of column names")
        if len(set(value)) != len(value):
            raise self.fail(field_name, "each column once")
        for index, item in enumerate(value):
            if patterns and not PATTERN.fullmatch(item):
                raise self.fail(f"{field_name}[{index}]", "a column name pattern (letters, "
                                f"digits, _ and the wildcards * ? [ ]), got {item!r}")
            if not patterns:
                self.identifier(item, f"{field_name}[{index}]")
        return list(value)

    def parse(self) -> ModelSpec:
        raw = self.raw
        unknown = sorted(set(raw) - _TOP_FIELDS)
        if unknown:
            raise self.fail(unknown[0], self.known(unknown[0], _TOP_FIELDS))
        for required in ("name", "target", "features"):
            if required not in raw:
                raise self.fail(required, "a value (the field is required)")
        name = self.identifier(raw["name"], "name")
        target = self.identifier(raw["target"], "target")
        entity_key = self.identifier(raw.get("entity_key", "entity_id"), "entity_key")
        as_of = raw.get("as_of", "as_of_date")
        if isinstance(as_of, str) and as_of.strip().lower() in {"none", "null", ""}:
            # YAML reads `None` as a string: the user meant no as_of column (snapshot data).
            raise self.fail("as_of", f"a column name, or null for snapshot data (got {as_of!r}; "
                            "write `as_of: null`)")
        if as_of is not None:
            as_of = self.identifier(as_of, "as_of")
        task = self.choice(raw.get("task", "binary_classification"), "task", TASKS)

        numeric, numeric_patterns, categorical, categorical_patterns, encoding, tier1 = (
            self.features(raw["features"], target, entity_key, as_of)
        )
        problem = self.problem(raw.get("problem"), task)
        label = self.label(raw.get("label"))
        split = self.mapping(raw.get("split"), "split", {
            "valid_periods", "test_periods", "embargo_days", "valid_fraction", "test_fraction"})
        search = self.mapping(raw.get("search"), "search", {"method", "n_iter", "cv_folds"})
        promotion = self.mapping(raw.get("promotion"), "promotion", {"margin", "guard"})
        drift = self.mapping(raw.get("drift"), "drift", {"moderate", "drift", "exclude"})
        leakage = self.mapping(raw.get("leakage"), "leakage", {"max_single_feature_auc", "allow"})
        quality = self.mapping(raw.get("quality"), "quality", {"gates", "quarantine"})
        monitoring = self.mapping(raw.get("monitoring"), "monitoring", {
            "backfill", "performance_margin", "rate_gap", "rate_window", "retrain_on_signal"})
        snapshot = self.snapshot(raw.get("snapshot"), as_of, label=raw.get("label"))
        deploy = self.mapping(raw.get("deploy"), "deploy", {"refit"})
        non_negative = self.flag(raw.get("non_negative", False), "non_negative")
        if non_negative and task != "regression":
            raise self.fail("non_negative", "a regression model (a classifier's score is a "
                            "probability already)")

        default_metric = "roc_auc" if task == "binary_classification" else "rmse"
        selection = self.choice(
            raw.get("selection_metric", default_metric), "selection_metric", SEARCH_METRICS[task]
        )
        threshold = raw.get("threshold", "max_f1")
        if task == "binary_classification":
            threshold = self.threshold(threshold)
        elif "threshold" in raw:
            raise self.fail("threshold", "no threshold for a regression model")
        class_weight = raw.get("class_weight")
        if class_weight is not None:
            if task != "binary_classification":
                raise self.fail("class_weight", "no class weighting for a regression model")
            self.choice(class_weight, "class_weight", ("balanced",))
        moderate = self.number(drift.get("moderate", PSI_MODERATE), "drift.moderate", 0, 10)
        drift_threshold = self.number(drift.get("drift", PSI_DRIFT), "drift.drift", 0, 10)
        if drift_threshold < moderate:
            raise self.fail("drift.drift", f"a PSI at least drift.moderate ({moderate})")
        allow = self.columns(leakage.get("allow", []), "leakage.allow")
        random_state = self.number(raw.get("random_state", 0), "random_state", 0, 2**32 - 1, True)

        embargo = split.get("embargo_days")
        if label is not None and embargo is not None and embargo < label.horizon_days:
            # A shorter gap lets the label windows of one split reach into the next: leakage.
            raise self.fail("split.embargo_days",
                            f"at least the label horizon ({label.horizon_days} days), got {embargo}")
        return ModelSpec(
            name=name,
            target=target,
            numeric=tuple(numeric),
            categorical=tuple(categorical),
            entity_key=entity_key,
            as_of=as_of,
            training_set=self.identifier(raw.get("training_set", f"ml_{name}__training_set"),
                                         "training_set"),
            split_column=self.identifier(raw.get("split_column", "split"), "split_column"),
            task=task,
            description=str(raw.get("description", "")),
            problem=problem,
            label=label,
            valid_periods=self.number(split.get("valid_periods", 3), "split.valid_periods",
                                      1, 1000, True),
            test_periods=self.number(split.get("test_periods", 3), "split.test_periods",
                                     1, 1000, True),
            embargo_days=(None if split.get("embargo_days") is None else self.number(
                split["embargo_days"], "split.embargo_days", 0, 100_000, True)),
            valid_fraction=self.number(split.get("valid_fraction", 0.2), "split.valid_fraction",
                                       0.01, 0.5),
            test_fraction=self.number(split.get("test_fraction", 0.2), "split.test_fraction",
                                      0.01, 0.5),
            numeric_patterns=numeric_patterns,
            categorical_patterns=categorical_patterns,
            encoding=encoding,
            tier1=tuple(tier1),
            candidates=self.candidates(raw.get("candidates"), task),
            search_method=self.choice(search.get("method", "grid"), "search.method",
                                      ("grid", "randomized")),
            n_iter=self.number(search.get("n_iter", 10), "search.n_iter", 1, 10_000, True),
            cv_folds=self.cv_folds(search.get("cv_folds", 3)),
            selection_metric=selection,
            threshold=threshold,
            class_weight=class_weight,
            promotion_margin=self.number(promotion.get("margin", 0.0), "promotion.margin", 0, 1e9),
            promotion_guard=self.flag(promotion.get("guard", True), "promotion.guard"),
            drift_moderate=moderate,
            drift_threshold=drift_threshold,
            drift_exclude=tuple(self.drift_exclude(drift, raw)),
            max_single_feature_auc=self.number(leakage.get("max_single_feature_auc", 0.95),
                                               "leakage.max_single_feature_auc", 0.5, 1.0),
            leakage_allow=tuple(allow),
            gates=tuple(self.gates(quality, label, name, raw)),
            quarantine=self.flag(quality.get("quarantine", False), "quality.quarantine"),
            random_state=random_state,
            monitoring=Monitoring(
                backfill=self.flag(monitoring.get("backfill", True), "monitoring.backfill"),
                performance_margin=self.number(monitoring.get("performance_margin", 0.05),
                                               "monitoring.performance_margin", 0, 1e9),
                rate_gap=self.number(monitoring.get("rate_gap", 0.15), "monitoring.rate_gap",
                                     0, 1e9),
                rate_window=self.number(monitoring.get("rate_window", 3),
                                        "monitoring.rate_window", 1, 1000, True),
                retrain_on_signal=self.flag(monitoring.get("retrain_on_signal", False),
                                            "monitoring.retrain_on_signal"),
            ),
            snapshot=snapshot,
            deploy_refit=self.choice(deploy.get("refit", "all"), "deploy.refit", REFITS),
            non_negative=non_negative,
        )

    def snapshot(self, raw: Any, as_of: str | None, label: Any) -> Snapshot:
        value = self.mapping(raw, "snapshot", {"mart", "score_where"})
        if value and as_of is not None:
            raise self.fail("snapshot", "no snapshot block for a time-indexed spec (as_of is "
                            f"'{as_of}'); set as_of: null for one row per entity")
        if value and label is not None:
            raise self.fail("label", "no label block for a snapshot spec: the target is a column "
                            "of snapshot.mart")
        mart, where = value.get("mart"), value.get("score_where")
        return Snapshot(
            mart=None if mart is None else self.identifier(mart, "snapshot.mart"),
            score_where=None if where is None else self.expression(where,
                                                                   "snapshot.score_where"),
        )

    def features(self, raw: Any, target: str, entity_key: str, as_of: str | None):
        value = self.mapping(raw, "features", {"numeric", "categorical", "encoding", "tier1"})
        lists: dict[str, list[str]] = {}
        patterns: dict[str, tuple[tuple[str, ...], tuple[str, ...]] | None] = {}
        for kind in ("numeric", "categorical"):
            entry = value.get(kind, [])
            if isinstance(entry, dict):
                entry = self.mapping(entry, f"features.{kind}", {"include", "exclude"})
                include = self.columns(entry.get("include", []), f"features.{kind}.include", True)
                if not include:
                    raise self.fail(f"features.{kind}.include", "at least one pattern")
                exclude = self.columns(entry.get("exclude", []), f"features.{kind}.exclude", True)
                lists[kind], patterns[kind] = [], (tuple(include), tuple(exclude))
            else:
                lists[kind] = self.columns(entry, f"features.{kind}")
                patterns[kind] = None
        if not any(lists.values()) and not any(patterns.values()):
            raise self.fail("features", "at least one numeric or categorical column")
        overlap = sorted(set(lists["numeric"]) & set(lists["categorical"]))
        if overlap:
            raise self.fail("features", f"each column in one list only; {overlap[0]} is in both")
        clash = sorted({target, entity_key, as_of} & set(lists["numeric"] + lists["categorical"]))
        if clash:
            raise self.fail("features", f"no key or target columns among the features; found {clash[0]}")
        encoding = value.get("encoding", {}) or {}
        if not isinstance(encoding, dict):
            raise self.fail("features.encoding", "a mapping of categorical column to onehot or target")
        for column, how in encoding.items():
            self.identifier(column, "features.encoding")
            self.choice(how, f"features.encoding.{column}", ENCODINGS)
            if column in lists["numeric"]:
                raise self.fail(f"features.encoding.{column}", "a categorical column")
        tier1 = self.columns(value.get("tier1", []), "features.tier1")
        return (lists["numeric"], patterns["numeric"], lists["categorical"],
                patterns["categorical"], dict(encoding), tier1)

    def problem(self, raw: Any, task: str) -> Problem:
        value = self.mapping(raw, "problem", {"decision", "success", "rule_baseline", "constraints"})
        success = self.mapping(value.get("success"), "problem.success", {"metric", "target"})
        metric = target = None
        if success:
            metric = self.choice(success.get("metric"), "problem.success.metric", TASK_METRICS[task])
            target = self.number(success.get("target"), "problem.success.target", -1e12, 1e12)
        constraints = self.mapping(value.get("constraints"), "problem.constraints",
                                   {"max_latency_ms_per_1000", "max_artifact_mb"})
        latency = constraints.get("max_latency_ms_per_1000")
        size = constraints.get("max_artifact_mb")
        rule = value.get("rule_baseline")
        return Problem(
            decision=str(value.get("decision", "")),
            success_metric=metric,
            success_target=target,
            rule_baseline=None if rule is None else self.expression(rule, "problem.rule_baseline"),
            max_latency_ms_per_1000=None if latency is None else self.number(
                latency, "problem.constraints.max_latency_ms_per_1000", 0, 1e9),
            max_artifact_mb=None if size is None else self.number(
                size, "problem.constraints.max_artifact_mb", 0, 1e9),
        )

    def drift_exclude(self, drift: dict[str, Any], raw: dict[str, Any]) -> list[str]:
        # Features that grow by construction (tenure, lifetime totals) drift every month; PSI on
        # them is an alarm that means nothing, so they get no reference bins and no drift rows.
        excluded = self.columns(drift.get("exclude", []), "drift.exclude")
        tier1 = (raw.get("features") or {}).get("tier1") or []
        both = sorted(set(excluded) & set(tier1))
        if both:
            raise self.fail("drift.exclude", f"features outside tier1 (tier-1 drift triggers "
                            f"retraining); {both[0]} is in both")
        return excluded

    def cv_folds(self, value: Any) -> int:
        # 0: no cross-validation, for histories too short to hold embargoed folds.
        if value == 0 and not isinstance(value, bool):
            return 0
        return self.number(value, "search.cv_folds", 2, 50, True)

    def flag(self, value: Any, field_name: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(field_name, f"true or false, got {value!r}")
        return value

    def gates(self, quality: dict[str, Any], label: Label | None, name: str, raw: Any) -> list[str]:
        # The marts validated before training and scoring: by default the label's mart and the
        # training set (each needs a suite in expectations/<mart>.json).
        training_set = raw.get("training_set", f"ml_{name}__training_set")
        default = ([label.mart] if label else []) + [training_set]
        return self.columns(quality.get("gates", default), "quality.gates")

    def label(self, raw: Any) -> Label | None:
        if raw is None:
            return None
        value = self.mapping(raw, "label",
                             {"mart", "events", "timestamp", "horizon_days", "where", "value",
                              "absent"})
        for required in ("mart", "events", "timestamp", "horizon_days"):
            if required not in value:
                raise self.fail(f"label.{required}", "a value (the field is required)")
        if value.get("absent") and value.get("value") is not None:
            raise self.fail("label.absent", "absent (1 when no event matches) or value (a sum), "
                            "not both")
        return Label(
            mart=self.identifier(value["mart"], "label.mart"),
            events=self.identifier(value["events"], "label.events"),
            timestamp=self.identifier(value["timestamp"], "label.timestamp"),
            horizon_days=self.number(value["horizon_days"], "label.horizon_days", 1, 100_000, True),
            where=self.expression(value.get("where", "true"), "label.where"),
            value=None if value.get("value") is None else self.expression(value["value"],
                                                                          "label.value"),
            absent=self.flag(value.get("absent", False), "label.absent"),
        )

    def candidates(self, raw: Any, task: str) -> tuple[Candidate, ...]:
        from mlmodels.spec.estimators import estimators_for

        known = estimators_for(task)
        if raw is None:
            default = "logistic_regression" if task == "binary_classification" else "ridge"
            return (Candidate(default),)
        if not isinstance(raw, list) or not raw:
            raise self.fail("candidates", "a non-empty list of {name, params, grid}")
        parsed = []
        for index, entry in enumerate(raw):
            where = f"candidates[{index}]"
            entry = self.mapping(entry, where, {"name", "params", "grid"})
            name = self.choice(entry.get("name"), f"{where}.name", tuple(sorted(known)))
            params = entry.get("params", {}) or {}
            if not isinstance(params, dict):
                raise self.fail(f"{where}.params", "a mapping of parameter names to values")
            grid = entry.get("grid", {}) or {}
            if not isinstance(grid, dict) or not all(
                isinstance(v, list) and v for v in grid.values()
            ):
                raise self.fail(f"{where}.grid", "a mapping of parameter names to non-empty lists")
            estimator = known[name]()
            for parameter in (*params, *grid):
                if parameter not in estimator.get_params():
                    raise self.fail(f"{where}.{parameter}",
                                    f"a parameter of {type(estimator).__name__}")
            parsed.append(Candidate(name, dict(params), {k: list(v) for k, v in grid.items()}))
        return tuple(parsed)

    def threshold(self, raw: Any) -> Any:
        from mlmodels.spec.threshold_policy import parse_threshold_policy

        try:
            return parse_threshold_policy(raw)
        except ValueError as error:
            message = str(error).removeprefix("threshold policy: expected ")
            raise self.fail("threshold", message) from error
