"""The value types of a spec's fields: each validates a value in the spec's words.

Each type (:func:`Identifier`, :func:`Number`, ...) is a :class:`Leaf`: a plain validator
(pydantic's own coercion never runs, so 0 stays an int, "3" is not a number and 1 is not true),
its JSON Schema, and errors raised by :func:`expected` that say what was expected. The schema
(:mod:`mlmodels.spec.schema`) declares its fields with them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

TASKS: tuple[str, ...] = ("binary_classification", "regression")
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
REFITS: tuple[str, ...] = ("all", "train")
# The usual PSI reading, and the defaults of a spec's drift thresholds (the one place they are
# written): under 0.1 stable, 0.1 to 0.2 moderate, 0.2 and over drift.
PSI_MODERATE = 0.1
PSI_DRIFT = 0.2

# A spec is data, not code: every name it gives a table or column must be a plain identifier, so
# it can be spliced into SQL without quoting tricks (only rule_baseline, label.where, label.value
# and snapshot.score_where are SQL, documented as trusted expressions).
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
PATTERN = re.compile(r"[A-Za-z0-9_*?\[\]!-]{1,63}")
# A candidate's estimator by import path: public dotted names, at least a module and a class.
IMPORT_PATH = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+")


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


def expected(text: str, at: str = "") -> PydanticCustomError:
    """Return the error a leaf raises: ``text`` is what was expected, ``at`` a sub-path (``[2]``)."""
    return PydanticCustomError("spec", "expected {expected}", {"expected": text, "at": at})




@dataclass(frozen=True, eq=False)  # hashed by identity: typing hashes Annotated metadata
class Leaf:
    """A field type: ``check`` validates a value (raising :func:`expected`), ``schema`` is JSON."""

    check: Callable[..., Any]
    schema: dict[str, Any]

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        """Validate with ``check`` alone."""
        return core_schema.no_info_plain_validator_function(self.check)

    def __get_pydantic_json_schema__(self, schema: Any,
                                     handler: GetJsonSchemaHandler) -> dict[str, Any]:
        """Return ``schema``."""
        return dict(self.schema)


IDENTIFIER_RULE = ("a plain SQL identifier (letters, digits and _, not starting with a digit, "
                   "at most 63 characters)")
PATTERN_RULE = "a column name pattern (letters, digits, _ and the wildcards * ? [ ])"
IDENTIFIER_SCHEMA = {"type": "string", "pattern": f"^{IDENTIFIER.pattern}$"}


def _identifier(value: Any, at: str = "") -> str:
    if not isinstance(value, str) or not value.strip():
        raise expected(f"a non-empty string, {IDENTIFIER_RULE}, got {value!r}", at)
    if not IDENTIFIER.fullmatch(value):
        raise expected(f"{IDENTIFIER_RULE}, got {value!r}", at)
    return value


def Identifier() -> Leaf:
    """Return the type of a plain SQL identifier: a table or column name."""
    return Leaf(_identifier, IDENTIFIER_SCHEMA)


def AsOf() -> Leaf:
    """Return the type of the as_of column, or null for snapshot data."""
    def check(value: Any) -> str | None:
        if isinstance(value, str) and value.strip().lower() in {"none", "null", ""}:
            # YAML reads `None` as a string: the user meant no as_of column (snapshot data).
            raise expected(f"a column name, or null for snapshot data (got {value!r}; write "
                           "`as_of: null`)")
        return None if value is None else _identifier(value)
    return Leaf(check, {"anyOf": [IDENTIFIER_SCHEMA, {"type": "null"}]})


def Expression() -> Leaf:
    """Return the type of one trusted SQL expression, spliced into a model's select."""
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise expected("a non-empty string")
        problem = expression_problem(value)
        if problem:
            raise expected(f"one SQL expression (it runs inside the model's select); found "
                           f"{problem} in {value!r}")
        return value
    return Leaf(check, {"type": "string", "minLength": 1})


def Prose() -> Leaf:
    """Return the type of free text for people: any value is read as its text."""
    return Leaf(str, {"type": "string"})


def Number(low: float, high: float, integer: bool = False) -> Leaf:
    """Return the type of a number (an integer) in ``[low, high]``; a bool is not one."""
    kinds, kind = ((int,), "an integer") if integer else ((int, float), "a number")

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            raise expected(f"{kind} in [{low}, {high}], got {value!r}")
        return value
    return Leaf(check, {"type": "integer" if integer else "number", "minimum": low,
                        "maximum": high})


def CvFolds() -> Leaf:
    """Return the type of the CV folds: 0 (none, for short histories) or 2 to 50."""
    folds = Number(2, 50, integer=True)
    return Leaf(lambda v: 0 if v == 0 and not isinstance(v, bool) else folds.check(v),
                {"anyOf": [{"const": 0}, folds.schema]})


def Choice(options: tuple[str, ...]) -> Leaf:
    """Return the type of one of a fixed set of words."""
    def check(value: Any, at: str = "") -> str:
        if value not in options:
            raise expected(f"one of {list(options)}, got {value!r}", at)
        return value
    return Leaf(check, {"enum": list(options)})


def ByTask(options: tuple[str, ...]) -> Leaf:
    """Return the type of a name the task constrains (checked after the schema)."""
    return Leaf(lambda value: value, {"enum": sorted(set(options), key=options.index)})


def EstimatorName(options: tuple[str, ...]) -> Leaf:
    """Return the type of a candidate's estimator: a short name, or a class's import path.

    The task decides which short names are valid, and the import path is imported and checked
    after the schema (:func:`mlmodels.spec.estimators.resolve`).
    """
    return Leaf(lambda value: value, {"anyOf": [
        {"enum": list(options)},
        {"type": "string", "pattern": f"^{IMPORT_PATH.pattern}$",
         "description": "a scikit-learn-compatible class by import path, e.g. "
                        "lightgbm.LGBMClassifier"}]})


def Flag() -> Leaf:
    """Return the type of true or false."""
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise expected(f"true or false, got {value!r}")
        return value
    return Leaf(check, {"type": "boolean"})


def Columns(patterns: bool = False, at_least_one: bool = False) -> Leaf:
    """Return the type of distinct column names, or patterns (``*``, ``?``, ``[]``)."""
    def check(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise expected("a list of column names")
        if len(set(value)) != len(value):
            raise expected("each column once")
        for index, item in enumerate(value):
            if not patterns:
                _identifier(item, at=f"[{index}]")
            elif not PATTERN.fullmatch(item):
                raise expected(f"{PATTERN_RULE}, got {item!r}", at=f"[{index}]")
        if at_least_one and not value:
            raise expected("at least one pattern")
        return list(value)
    item = {"type": "string", "pattern": f"^{PATTERN.pattern}$"} if patterns else IDENTIFIER_SCHEMA
    return Leaf(check, {"type": "array", "items": item, "uniqueItems": True,
                        **({"minItems": 1} if at_least_one else {})})


def Encoding() -> Leaf:
    """Return the type of categorical column to ``onehot`` or ``target`` (empty: none)."""
    how = Choice(ENCODINGS)

    def check(value: Any) -> dict[str, str]:
        if not isinstance(value or {}, dict):
            raise expected("a mapping of categorical column to onehot or target")
        for column, encoding in (value or {}).items():
            _identifier(column)
            how.check(encoding, at=f".{column}")
        return dict(value or {})
    return Leaf(check, {"type": ["object", "null"], "propertyNames": IDENTIFIER_SCHEMA,
                        "additionalProperties": how.schema})


def Params(grid: bool = False) -> Leaf:
    """Return the type of an estimator's parameters, or (``grid``) of lists to search."""
    def check(value: Any) -> dict[str, Any]:
        value = value or {}
        if not grid and not isinstance(value, dict):
            raise expected("a mapping of parameter names to values")
        if grid and (not isinstance(value, dict) or not all(
                isinstance(v, list) and v for v in value.values())):
            raise expected("a mapping of parameter names to non-empty lists")
        return {k: list(v) for k, v in value.items()} if grid else dict(value)
    return Leaf(check, {"type": ["object", "null"], "additionalProperties": {"type": "array",
                                                                             "minItems": 1}}
                if grid else {"type": ["object", "null"]})


def _policy(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {key: value}, "required": [key],
            "additionalProperties": False}


_SHARE, _COST = {"type": "number", "exclusiveMinimum": 0, "maximum": 1}, {"type": "number",
                                                                          "minimum": 0}
# A decision-threshold policy, checked after the schema (a regression spec may have none).
THRESHOLD = Leaf(lambda value: value, {"anyOf": [
    {"const": "max_f1"}, _policy("min_precision", _SHARE), _policy("min_recall", _SHARE),
    _policy("cost", {"type": "object", "properties": {"fp": _COST, "fn": _COST,
                                                      "tp_value": _COST},
                     "required": ["fp", "fn"], "additionalProperties": False})]})
