"""The declarative schema of a spec's YAML: pydantic models, validated before anything else.

Every field is declared once here, with its type, default, range and a line of help; the JSON
Schema editors read (``docs/spec.schema.json``, ``mlmodels spec-schema``) is generated from it.
The value types (:mod:`mlmodels.spec.value_types`) validate in the spec's own words, so
:func:`problem_of` can turn pydantic's first error into the field path and what was expected,
as :class:`mlmodels.spec.specs.SpecError` reports them. The rules that tie fields together
(names and metrics that depend on the task, the embargo against the label horizon, features
that are not keys) are checked after this schema, in :mod:`mlmodels.spec.specs`.
"""

from __future__ import annotations

import difflib
import json
from typing import Annotated, Any, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from mlmodels.spec.estimators import CLASSIFIERS, REGRESSORS
from mlmodels.spec.value_types import (
    PSI_DRIFT,
    PSI_MODERATE,
    REFITS,
    SEARCH_METRICS,
    TASK_METRICS,
    TASKS,
    THRESHOLD,
    AsOf,
    ByTask,
    Choice,
    Columns,
    CvFolds,
    Encoding,
    EstimatorName,
    Expression,
    Flag,
    Identifier,
    Number,
    Params,
    Prose,
    expected,
)

REQUIRED = "a value (the field is required)"
SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


def _no_default(schema: dict[str, Any]) -> None:
    # The default depends on other fields (the task, the name): the help says which.
    schema.pop("default", None)


def computed(description: str) -> Any:
    """Return a field absent by default, whose value the spec's other fields decide."""
    return Field(None, description=description, json_schema_extra=_no_default)


def named_when_absent(description: str) -> Any:
    """Return a required field whose type reports its absence (naming the options it takes).

    Its block lists it under ``required`` in its JSON Schema (``json_schema_extra``).
    """
    return Field(None, validate_default=True, description=description,
                 json_schema_extra=_no_default)


# ----------------------------------------------------------------------------------------------
# The blocks of a spec


class Block(BaseModel):
    """A mapping of the spec: unknown keys are refused, and ``null`` reads as an empty mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise expected("a mapping")
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core: Any, handler: GetJsonSchemaHandler) -> Any:
        """Say that null is a valid block where an empty mapping is (no field is required)."""
        schema = handler.resolve_ref_schema(handler(core))
        if not schema.get("required"):
            schema["type"] = ["object", "null"]
        return schema


Ident = Annotated[str, Identifier()]
ColumnList = Annotated[list[str], Columns()]


class Success(Block):
    """The success criterion, reached on test."""

    model_config = ConfigDict(json_schema_extra={"required": ["metric", "target"]})

    metric: Annotated[str, ByTask(TASK_METRICS["binary_classification"]
                                  + TASK_METRICS["regression"])] = named_when_absent(
        "a metric of the task")
    target: Annotated[float, Number(-1e12, 1e12)] = named_when_absent("the value to reach")


class Constraints(Block):
    """Limits a version must keep."""

    max_latency_ms_per_1000: Annotated[float, Number(0, 1e9)] | None = Field(
        None, description="scoring latency per 1,000 rows, in milliseconds")
    max_artifact_mb: Annotated[float, Number(0, 1e9)] | None = Field(
        None, description="the artifact's size, in MB")


class Problem(Block):
    """The framing the workflow starts from."""

    decision: Annotated[str, Prose()] = Field("", description="the decision the model supports")
    success: Success | None = Field(None, description="{metric, target} reached on test; a "
                                    "version that misses it is rejected")
    rule_baseline: Annotated[str, Expression()] | None = Field(
        None, description="a SQL expression over the training set: the rule used today")
    constraints: Constraints = Field(default_factory=Constraints)
    capacity: Annotated[int, Number(1, 1_000_000_000, integer=True)] | None = Field(
        None, description="how many entities the decision can act on per as_of: the top-ranked "
        "rows of each version are selected (at most the rows scored); not with capacity_share")
    capacity_share: Annotated[float, Number(1e-9, 1)] | None = Field(
        None, description="the share of each as_of's scored rows the decision can act on "
        "(rounded up to whole rows); not with capacity")

    @field_validator("success", mode="before")
    @classmethod
    def _empty_success(cls, value: Any) -> Any:
        return None if isinstance(value, dict) and not value else value


class Label(Block):
    """How the generated training set computes the target."""

    mart: Ident = Field(description="the table of entities and as_of dates")
    events: Ident = Field(description="the events the label counts")
    timestamp: Ident = Field(description="the events' time column")
    horizon_days: Annotated[int, Number(1, 100_000, integer=True)] = Field(
        description="the window [as_of, as_of + horizon_days)")
    where: Annotated[str, Expression()] = Field("true", description="a SQL filter of events")
    value: Annotated[str, Expression()] | None = Field(
        None, description="sum this over the window (else 1 if any event matches)")
    absent: Annotated[bool, Flag()] = Field(False, description="1 if no event matches")


class Split(Block):
    """How the rows are split into train, valid and test."""

    valid_periods: Annotated[int, Number(1, 1000, integer=True)] = 3
    test_periods: Annotated[int, Number(1, 1000, integer=True)] = 3
    embargo_days: Annotated[int, Number(0, 100_000, integer=True)] | None = Field(
        None, description="the gap between splits (default: the label horizon)")
    valid_fraction: Annotated[float, Number(0.01, 0.5)] = Field(0.2, description="snapshot data")
    test_fraction: Annotated[float, Number(0.01, 0.5)] = Field(0.2, description="snapshot data")


class FeaturePatterns(Block):
    """Patterns matched against the training set's columns."""

    model_config = ConfigDict(json_schema_extra={"required": ["include"]})

    include: Annotated[list[str], Columns(patterns=True, at_least_one=True)] = Field(
        default_factory=list, validate_default=True)  # absent: "at least one pattern"
    exclude: Annotated[list[str], Columns(patterns=True)] = Field(default_factory=list)


def _feature_kind(value: Any) -> str:
    return "<patterns>" if isinstance(value, dict) else "<columns>"


# The tags name the two forms of a feature list; they are left out of an error's field path.
TAGS = ("<patterns>", "<columns>")
FeatureList = Annotated[
    Union[Annotated[ColumnList, Tag("<columns>")],  # noqa: UP007 (a Tag needs the Union form)
          Annotated[FeaturePatterns, Tag("<patterns>")]],
    Discriminator(_feature_kind)]


class Features(Block):
    """The feature columns."""

    numeric: FeatureList = Field(default_factory=list,
                                 description="columns, or {include, exclude} patterns")
    categorical: FeatureList = Field(default_factory=list,
                                     description="columns, or {include, exclude} patterns")
    encoding: Annotated[dict[str, str], Encoding()] = Field(
        default_factory=dict, description="per categorical column: onehot (default) or target")
    tier1: ColumnList = Field(default_factory=list,
                              description="the features whose drift triggers retraining")


ESTIMATORS = tuple(sorted({*CLASSIFIERS, *REGRESSORS}))


class Candidate(Block):
    """An estimator to try."""

    model_config = ConfigDict(json_schema_extra={"required": ["name"]})

    name: Annotated[str, EstimatorName(ESTIMATORS)] = named_when_absent(
        "an estimator of the task: a short name, or a scikit-learn-compatible class by import "
        "path (e.g. lightgbm.LGBMClassifier)")
    params: Annotated[dict[str, Any], Params()] = Field(default_factory=dict)
    grid: Annotated[dict[str, list[Any]], Params(grid=True)] = Field(default_factory=dict)


class Search(Block):
    """The search over each candidate's grid."""

    method: Annotated[str, Choice(("grid", "randomized"))] = "grid"
    n_iter: Annotated[int, Number(1, 10_000, integer=True)] = 10
    cv_folds: Annotated[int, CvFolds()] = Field(3, description="0: no cross-validation")


class Promotion(Block):
    """When a new version replaces the champion."""

    margin: Annotated[float, Number(0, 1e9)] = Field(
        0.0, description="how much it must beat the champion by, in the selection metric")
    guard: Annotated[bool, Flag()] = Field(
        True, description="keep it challenger when its training data shifted")


class Drift(Block):
    """How feature and prediction drift are read (PSI)."""

    moderate: Annotated[float, Number(0, 10)] = PSI_MODERATE
    drift: Annotated[float, Number(0, 10)] = PSI_DRIFT
    exclude: ColumnList = Field(default_factory=list,
                                description="features that grow by construction: no drift rows")


class Leakage(Block):
    """The single-feature leakage audit."""

    max_single_feature_auc: Annotated[float, Number(0.5, 1.0)] = 0.95
    allow: ColumnList = Field(default_factory=list)


class Quality(Block):
    """The Great Expectations gates."""

    gates: Annotated[list[str] | None, Columns()] = computed(
        "the marts validated first (default: the label's mart and the training set)")
    quarantine: Annotated[bool, Flag()] = False


class Monitoring(Block):
    """How the warehouse watches a model after training."""

    backfill: Annotated[bool, Flag()] = True
    performance_margin: Annotated[float, Number(0, 1e9)] = 0.05
    rate_gap: Annotated[float, Number(0, 1e9)] = 0.15
    rate_window: Annotated[int, Number(1, 1000, integer=True)] = 3
    retrain_on_signal: Annotated[bool, Flag()] = False


class Explain(Block):
    """Reason codes: each scored row's top features by their contribution to its score."""

    top_k: Annotated[int, Number(0, 50, integer=True)] = Field(
        0, description="features explained per scored row; 0 (the default): no explanations")


class Snapshot(Block):
    """Where a snapshot model (as_of: null) finds its rows."""

    mart: Ident | None = Field(None, description="the table with one row per entity")
    score_where: Annotated[str, Expression()] | None = Field(
        None, description="a SQL filter of rows scored besides those with a null target")


class Deploy(Block):
    """What the deployed version is fitted on."""

    refit: Annotated[str, Choice(REFITS)] = "all"


class SpecDocument(Block):
    """An mlmodels model spec (``<project>/ml/<name>.yml``); see docs/specs.md."""

    model_config = ConfigDict(title="mlmodels model spec")

    name: Ident = Field(description="the model's name; must match the file name")
    target: Ident = Field(description="the label column")
    entity_key: Ident = "entity_id"
    as_of: Annotated[str | None, AsOf()] = Field(
        "as_of_date", description="the cutoff column; null for snapshot data")
    task: Annotated[str, Choice(TASKS)] = "binary_classification"
    features: Features = Field(description="numeric and/or categorical columns")
    problem: Problem = Field(default_factory=Problem)
    label: Label | None = None
    split: Split = Field(default_factory=Split)
    search: Search = Field(default_factory=Search)
    promotion: Promotion = Field(default_factory=Promotion)
    drift: Drift = Field(default_factory=Drift)
    leakage: Leakage = Field(default_factory=Leakage)
    quality: Quality = Field(default_factory=Quality)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    snapshot: Snapshot = Field(default_factory=Snapshot)
    explain: Explain = Field(default_factory=Explain)
    deploy: Deploy = Field(default_factory=Deploy)
    non_negative: Annotated[bool, Flag()] = Field(
        False, description="regression: forecasts are clipped at 0")
    selection_metric: Annotated[str | None, ByTask(
        SEARCH_METRICS["binary_classification"] + SEARCH_METRICS["regression"])] = computed(
        "the metric the search ranks by (default: roc_auc, or rmse for regression)")
    threshold: Annotated[Any, THRESHOLD] = computed(
        "classification: max_f1 (default), {min_precision: x}, {min_recall: x} or "
        "{cost: {fp, fn, tp_value}}")
    class_weight: Annotated[str, Choice(("balanced",))] | None = None
    random_state: Annotated[int, Number(0, 2**32 - 1, integer=True)] = 0
    training_set: Annotated[str | None, Identifier()] = computed(
        "the dbt model holding the rows (default: ml_<name>__training_set)")
    split_column: Ident = "split"
    description: Annotated[str, Prose()] = Field("", description="one sentence")
    candidates: list[Candidate] | None = Field(
        None, min_length=1, json_schema_extra=_no_default,
        description="estimators to try (default: logistic_regression, or ridge for regression)")

    @field_validator("candidates", mode="before")
    @classmethod
    def _candidate_list(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, list) or not value):
            raise expected("a non-empty list of {name, params, grid}")
        return value


# ----------------------------------------------------------------------------------------------
# Errors and the JSON Schema


def _known_fields(model: type[BaseModel], path: tuple[str, ...] = ()) -> dict[tuple, list[str]]:
    """Map the path of every block (list indexes left out) to the names its mapping allows."""
    known = {path: sorted(model.model_fields)}
    for name, info in model.model_fields.items():
        for block in _blocks_in(info.annotation):
            known |= _known_fields(block, (*path, name))
    return known


def _blocks_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [b for arg in getattr(annotation, "__args__", ()) for b in _blocks_in(arg)]


KNOWN_FIELDS = _known_fields(SpecDocument)


def unknown_field(name: Any, known: list[str]) -> str:
    """Return what was expected instead of an unknown field: the known ones, and a close match."""
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"one of the known fields {known}{hint}"


def field_path(loc: tuple[Any, ...]) -> str:
    """Return a pydantic location as the spec's dotted path, e.g. ``candidates[1].params``."""
    path = ""
    for part in loc:
        if part in TAGS:
            continue
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


def problem_of(error: ValidationError) -> tuple[str, str]:
    """Return the field and what was expected, of the error to report first.

    An unknown field is reported first (the shallowest, then by name): a misspelt key is the
    likeliest cause of the errors around it, as a required field it meant to give.
    """
    issues = error.errors(include_url=False)
    unknown = [i for i in issues if i["type"] == "extra_forbidden"]
    if unknown:
        issue = min(unknown, key=lambda i: (len(i["loc"]), [str(p) for p in i["loc"]]))
        block = tuple(p for p in issue["loc"][:-1] if isinstance(p, str) and p not in TAGS)
        return field_path(issue["loc"]), unknown_field(issue["loc"][-1], KNOWN_FIELDS[block])
    issue = issues[0]
    if issue["type"] == "missing":
        return field_path(issue["loc"]), REQUIRED
    context = issue.get("ctx") or {}
    if issue["type"] == "spec":
        return field_path(issue["loc"]) + context["at"], context["expected"]
    return field_path(issue["loc"]), issue["msg"][:1].lower() + issue["msg"][1:]


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of a spec file, for editors (e.g. the YAML language server).

    Examples
    --------
    >>> json_schema()["properties"]["task"]["enum"]
    ['binary_classification', 'regression']
    """
    return {"$schema": SCHEMA_URI, **SpecDocument.model_json_schema()}


def json_schema_text() -> str:
    """Return :func:`json_schema` as the text of ``docs/spec.schema.json``."""
    return json.dumps(json_schema(), indent=2) + "\n"
