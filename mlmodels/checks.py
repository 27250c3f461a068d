"""Preflight: the checks of a model that take seconds, run before gates and training take minutes.

Each check reads the training set's schema or one small aggregate of it, never the rows. A failed
check names the spec, the field or column, and the fix; all failures are reported together.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlmodels.engine import table
from mlmodels.learn.splits import SplitError, time_ordered_folds
from mlmodels.serve import registry
from mlmodels.spec.specs import ModelSpec, SpecError

TEXT_TYPES = ("VARCHAR", "CHAR", "TEXT", "STRING")
SPLITS = ("train", "valid", "test")


class PreflightError(ValueError):
    """A check failed before any training: the message names the spec, the field and the fix."""


def preflight(relation: Any, spec: ModelSpec) -> list[dict[str, Any]]:
    """Run every check on a training set relation; return one record per check.

    Raises
    ------
    PreflightError
        Listing every failed check, when any failed.
    """
    relation = table(relation)
    results = [_signing_key(spec)]
    columns = list(relation.columns)
    missing = [c for c in _required(spec) if c not in columns]
    if missing:
        results.append(_failed(spec, "columns", f"training set '{spec.training_set}' has no "
                               f"column {missing} (the spec names it); add it to the model or "
                               "fix the spec"))
    else:
        results.append(_passed(spec, "columns"))
        resolved, outcome = _resolve(spec, columns)
        results.append(outcome)
        if resolved is not None:
            results.append(_types(resolved, relation))
            results.append(_labels(resolved, relation))
            if not resolved.is_snapshot:
                results.append(_splits(resolved, relation))
    failed = [r for r in results if not r["passed"]]
    if failed:
        raise PreflightError(
            f"model '{spec.name}': {len(failed)} preflight check(s) failed before training:\n"
            + "\n".join(f"  - {r['check_name']}: {r['detail']}" for r in failed))
    return results


def _required(spec: ModelSpec) -> list[str]:
    keys = [spec.entity_key, spec.target]
    return keys + ([spec.as_of, spec.split_column] if spec.as_of else [])


def _passed(spec: ModelSpec, check: str, detail: str = "ok") -> dict[str, Any]:
    return {"model_name": spec.name, "check_name": check, "passed": True, "detail": detail}


def _failed(spec: ModelSpec, check: str, detail: str) -> dict[str, Any]:
    return {"model_name": spec.name, "check_name": check, "passed": False, "detail": detail}


def _signing_key(spec: ModelSpec) -> dict[str, Any]:
    try:
        registry.signing_key()
    except registry.ArtifactError as error:
        return _failed(spec, "signing_key", f"{error}. Set {registry.KEY_ENV} to a key of at least "
                       f"{registry.MIN_KEY_BYTES} bytes (e.g. the output of `python -c \"import "
                       f"secrets; print(secrets.token_hex(32))\"`), or point {registry.KEY_FILE_ENV} "
                       "at a file holding one")
    return _passed(spec, "signing_key")


def _resolve(spec: ModelSpec, columns: list[str]) -> tuple[ModelSpec | None, dict[str, Any]]:
    try:
        return spec.resolve(columns), _passed(spec, "features")
    except SpecError as error:
        return None, _failed(spec, "features", str(error))


def _types(spec: ModelSpec, relation: Any) -> dict[str, Any]:
    types = dict(zip(relation.columns, relation.types, strict=True))
    text = [c for c in spec.numeric if types[c].startswith(TEXT_TYPES)]
    if text:
        return _failed(spec, "feature_types", f"feature(s) {text} are listed under "
                       f"features.numeric but are text columns ({types[text[0]]}) in training "
                       f"set '{spec.training_set}'; cast them in SQL (try_cast({text[0]} as "
                       "double) turns blanks into nulls, which are imputed) or list them under "
                       "features.categorical")
    return _passed(spec, "feature_types")


def _labels(spec: ModelSpec, relation: Any) -> dict[str, Any]:
    target = spec.target
    if spec.is_snapshot:
        labelled = relation.filter(f"{target} is not null")
    else:
        labelled = relation.filter(f"{spec.split_column} in ('train', 'valid', 'test')")
    counts = labelled.aggregate(
        f"count(*), count({target}), count(distinct {target}), "
        f"sum(case when {target} in (0, 1) then 0 else 1 end)").fetchall()[0]
    rows, non_null, distinct, not_binary = counts
    if rows == 0:
        return _failed(spec, "labels", f"training set '{spec.training_set}' has no labelled "
                       f"row (column '{target}')")
    if non_null < rows:
        return _failed(spec, "labels", f"column '{target}' is null on {rows - non_null} of "
                       f"{rows} labelled rows (split train / valid / test); labels must be known "
                       "there: fix the label, or mark those rows is_label_mature = false")
    if spec.is_classifier and (distinct < 2 or (not_binary or 0) > 0):
        return _failed(spec, "labels", f"column '{target}' must hold 0 and 1 (a binary "
                       f"classification target); it has {distinct} distinct value(s)"
                       + (f", {not_binary} row(s) not 0 or 1" if not_binary else ""))
    return _passed(spec, "labels", f"{rows} labelled rows")


def _splits(spec: ModelSpec, relation: Any) -> dict[str, Any]:
    found = dict(relation.filter(f"{spec.split_column} in ('train', 'valid', 'test')")
                 .aggregate(f"{spec.split_column}, count(distinct {spec.as_of})",
                            group_by=spec.split_column).fetchall())
    empty = [s for s in SPLITS if not found.get(s)]
    if empty:
        counts = found or "no mature as_of"
        return _failed(spec, "splits", f"split(s) {empty} have no rows ({counts} as_of dates "
                       "per split); the as_of grid is too short for split.valid_periods + "
                       "split.test_periods and the embargo: start the grid earlier, "
                       "use a finer as_of cadence, or fewer periods")
    if spec.cv_folds == 0:
        return _passed(spec, "splits", f"as_of dates per split: {found}; no CV (cv_folds: 0)")
    dates = relation.filter(f"{spec.split_column} = 'train'").distinct_values(spec.as_of)
    embargo = spec.embargo_days
    if embargo is None:
        embargo = spec.label.horizon_days if spec.label else 0
    try:
        time_ordered_folds(pd.Series(sorted(dates)), spec.cv_folds, embargo)
    except SplitError as error:
        return _failed(spec, "cv_folds", f"search.cv_folds: {spec.cv_folds} cannot fit the "
                       f"{len(dates)} train as_of dates: {error}. Set search.cv_folds: 0 (every "
                       "parameter set compared on valid) or fewer folds, or give train more "
                       "as_of dates")
    return _passed(spec, "splits", f"as_of dates per split: {found}")
