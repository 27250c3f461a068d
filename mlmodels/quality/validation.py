"""Great Expectations gates for the warehouse's marts.

Suites are GX 1.x suite JSON files (``expectations/<mart>.json``); :func:`load_suite` checks them
against GX's own registry. :func:`validate` runs a suite over a frame in an ephemeral GX context
(nothing written to disk); :func:`validate_table` and :func:`validate_chunked` validate a
relation where it lives: what SQL computes exactly as GX's pandas engine does is counted in the
warehouse (``row_checks``, ``partition_stats``), type checks run in GX on a probe of a few rows
with the frame's dtypes, and the rest in GX over chunks of whole partitions. Each returns one row
per expectation (per partition for partition-level ones). :func:`quarantine` splits a frame into
rows that pass the suite's row-level expectations and rows that do not.

great_expectations costs about 2 s to import, so it is imported only inside the functions that
need it; importing this module stays cheap.

Longer than 500 lines because suite loading, validation, partition-level aggregates, chunking
and quarantine all go through the one offline GX context set up here (no telemetry, no files).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
import logging
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlmodels.engine import table
from mlmodels.quality import partition_stats, row_checks
from mlmodels.quality.gx_memo import RESULT_FIELDS, GxMemo, digest, key_text
from mlmodels.sql import literal

SEVERITIES = ("error", "warn")
RESULT_COLUMNS = [
    "suite", "expectation", "column", "kwargs", "severity", "success", "observed_value",
    "unexpected_count", "unexpected_percent", "unexpected_values", "partition", "rows", "run_at",
]
ROW_LEVEL = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_match_regex",
}
PARTIAL_UNEXPECTED = 5
# Marks each GX expectation with its position in the suite: GX reports results in its own order
# (expectations that raised come first) and expectations outside a stored suite have no id.
_INDEX_KEY = "mlmodels_index"


class SuiteError(ValueError):
    """An expectation suite file that cannot be used."""


@dataclass(frozen=True)
class Suite:
    """A checked expectation suite: each expectation is a dict with type, kwargs and meta."""

    name: str
    path: str
    expectations: tuple[dict, ...]
    meta: dict


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hold the great_expectations loggers at ERROR for the duration."""
    # GX sets INFO explicitly on some of its module loggers, so the parent's level is not enough.
    loggers = [logging.getLogger("great_expectations")] + [
        logger
        for name, logger in logging.Logger.manager.loggerDict.items()
        if name.startswith("great_expectations.")
        and isinstance(logger, logging.Logger)
        and logger.level != logging.NOTSET
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


_GX_IMPORT = threading.Lock()
_GX_MODULE: list[Any] = []  # great_expectations once its import has completed


def _gx() -> Any:
    """Import great_expectations with analytics off and its import-time logging silenced.

    Safe from dbt's threads: two gates start at once. ``"great_expectations" in sys.modules`` is
    true as soon as another thread has begun the import, and using the half-imported package
    fails with a circular ImportError, so the others wait here until the import is complete.
    """
    if _GX_MODULE:
        # Imported already: skip _quiet, which walks every logger (called per expectation).
        return _GX_MODULE[0]
    with _GX_IMPORT:
        if not _GX_MODULE:
            # GX 1.24 ships no analytics client, but other GX 1.x releases read this variable;
            # set it before the import and unconditionally so no run sends usage statistics.
            os.environ["GX_ANALYTICS_ENABLED"] = "False"
            with _quiet():
                import great_expectations as gx
            _GX_MODULE.append(gx)
    return _GX_MODULE[0]


def _expectation_class(type_: str) -> type | None:
    """Return GX's registered implementation of an expectation type, or None."""
    _gx()
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.registry import get_expectation_impl

    try:
        return get_expectation_impl(type_)
    except ExpectationNotFoundError:
        return None


def _known_types() -> list[str]:
    """Return every expectation type registered with GX."""
    _gx()
    from great_expectations.expectations.registry import (
        list_registered_expectation_implementations,
    )

    return sorted(list_registered_expectation_implementations())


def _severity(expectation: dict) -> str:
    """Return an expectation's severity, "error" unless its meta says otherwise."""
    return expectation.get("meta", {}).get("severity", "error")


def _build(expectation: dict, extra_meta: dict | None = None) -> Any:
    """Construct the GX expectation object for one suite entry (raises if GX refuses it)."""
    cls = _expectation_class(expectation["type"])
    meta = {**expectation.get("meta", {}), **(extra_meta or {})}
    # A suite saying catch_exceptions=false would turn a missing column into a crash.
    kwargs = {**expectation.get("kwargs", {}), "catch_exceptions": True}
    with _quiet():
        return cls(**kwargs, meta=meta)


def _check_expectation(where: str, index: int, entry: Any, memo: GxMemo) -> dict:
    """Return a normalised copy of one suite entry, raising SuiteError if it is unusable.

    GX is asked whether it knows the type and accepts the kwargs unless ``memo`` says it
    accepted this exact entry before.
    """
    if not isinstance(entry, dict):
        raise SuiteError(f"{where}: expectation {index} is not a mapping")
    type_ = entry.get("type")
    if not isinstance(type_, str) or not type_:
        raise SuiteError(f"{where}: expectation {index} has no type")
    label = f"{where}: expectation {index} ({type_})"
    kwargs, meta = entry.get("kwargs", {}), entry.get("meta") or {}
    if not isinstance(kwargs, dict) or not isinstance(meta, dict):
        raise SuiteError(f"{label}: kwargs and meta must be mappings")
    normalised = {**entry, "kwargs": dict(kwargs), "meta": dict(meta)}
    vetted = memo.is_vetted(normalised)
    if not vetted and _expectation_class(type_) is None:
        close = difflib.get_close_matches(type_, _known_types(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SuiteError(f"{label}: {type_!r} is not a Great Expectations expectation type{hint}")
    severity = meta.get("severity", "error")
    if severity not in SEVERITIES:
        raise SuiteError(f"{label}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if vetted:
        return normalised
    try:
        _build(normalised)
    except Exception as error:
        detail = " ".join(str(error).split())
        raise SuiteError(f"{label}: kwargs refused by Great Expectations: {detail}") from error
    memo.remember_vetted(normalised)
    return normalised


def load_suite(path: str | os.PathLike[str], memo: GxMemo | None = None) -> Suite:
    """Read and check an expectation suite JSON file.

    Parameters
    ----------
    path
        A GX 1.x suite file: ``{"name": ..., "meta": {...}, "expectations": [{"type": ...,
        "kwargs": {...}, "meta": {"severity": "warn"}}, ...]}``. Other keys GX writes (``id``,
        ``notes``, ...) are accepted.
    memo
        GX's answers from earlier loads (see :mod:`mlmodels.quality.gx_memo`): entries GX
        accepted before under the same versions are not checked by GX again, and the entries
        it accepts now are added (the caller saves the memo).

    Returns
    -------
    Suite
        The suite, each expectation a dict with at least ``type``, ``kwargs`` and ``meta``.

    Raises
    ------
    SuiteError
        Naming the file (and the expectation's index and type) when the file is not a JSON
        mapping, has no name, has no expectations, names a type GX does not know (with the
        closest known type as a suggestion), gives kwargs GX refuses, or a severity other than
        "error" or "warn". GX itself silently drops unknown types, so this check is ours.
    """
    where = str(path)
    if not Path(path).is_file():
        raise SuiteError(
            f"suite {path} not found: draft it from a built training set with "
            "`mlmodels draft-suite <model> --db <duckdb file>`, then read and edit it"
        )
    try:
        document = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise SuiteError(f"{where}: not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise SuiteError(f"{where}: a suite must be a JSON mapping")
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise SuiteError(f"{where}: the suite has no name")
    meta = document.get("meta") or {}
    if not isinstance(meta, dict):
        raise SuiteError(f"{where}: meta must be a mapping")
    entries = document.get("expectations")
    if not entries:
        # GX would pass an empty suite, which would make the gate meaningless.
        raise SuiteError(f"{where}: empty suite (no expectations)")
    if not isinstance(entries, list):
        raise SuiteError(f"{where}: expectations must be a list")
    memo = memo or GxMemo(None)
    expectations = tuple(
        _check_expectation(where, index, entry, memo) for index, entry in enumerate(entries)
    )
    return Suite(name=name, path=where, expectations=expectations, meta=dict(meta))


def _plain(value: Any) -> Any:
    """Turn numpy, pandas and date values into JSON-friendly Python values (NaN to None)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NaT or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _json(value: Any) -> str:
    """Return value as JSON text with sorted keys."""
    return json.dumps(_plain(value), sort_keys=True, default=str)


def _columns(kwargs: dict) -> list[str]:
    """Return the columns an expectation is about; none for table-level expectations."""
    if "column" in kwargs:
        return [str(kwargs["column"])]
    if "column_list" in kwargs:
        return [str(column) for column in kwargs["column_list"]]
    if "column_A" in kwargs and "column_B" in kwargs:
        return [str(kwargs["column_A"]), str(kwargs["column_B"])]
    return []


def _exception_message(info: Any) -> str | None:
    """Return the message(s) of exceptions GX caught for one expectation, or None."""
    if not info:
        return None
    # GX gives either one flat record or one record per metric that failed to resolve.
    records = [info] if "raised_exception" in info else list(info.values())
    messages = [
        record.get("exception_message") or "exception raised"
        for record in records
        if isinstance(record, dict) and record.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) or None


def _utc_naive(run_at: dt.datetime | None) -> dt.datetime:
    """Return run_at (default now) as a naive UTC datetime; naive inputs are taken as UTC."""
    if run_at is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if run_at.tzinfo is not None:
        return run_at.astimezone(dt.UTC).replace(tzinfo=None)
    return run_at


def _results_frame(rows: list[dict]) -> pd.DataFrame:
    """Return result rows as a frame with RESULT_COLUMNS and nullable numeric columns."""
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    return frame.astype({
        "success": bool, "unexpected_count": "Int64", "unexpected_percent": "Float64",
        "rows": "int64", "run_at": "datetime64[us]",
    })


def _batch_definition() -> Any:
    """Return a whole-DataFrame batch definition in a fresh ephemeral GX context."""
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with _quiet():
        # Ephemeral: stores live in memory, so validating writes no gx/ folder or other files.
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        return (
            context.data_sources.add_pandas("mlmodels")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole")
        )


def _gx_suite(name: str, expectations: list[dict] | tuple[dict, ...],
              indices: list[int] | None = None) -> Any:
    """Return a GX suite of the entries, each marked with its position (see _INDEX_KEY)."""
    gx = _gx()
    indices = list(range(len(expectations))) if indices is None else indices
    with _quiet():
        return gx.ExpectationSuite(
            name=name,
            expectations=[_build(expectation, {_INDEX_KEY: index})
                          for index, expectation in zip(indices, expectations, strict=True)],
        )


# Expectations about a column's dtype: they see the frame as read. Every other expectation sees
# its numbers widened (below), which changes no value.
DTYPE_LEVEL = {"expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list"}


def _widened(frame: pd.DataFrame) -> pd.DataFrame:
    """Return frame with narrow numpy integers as int64 and narrow floats as float64.

    GX's pandas engine compares int64 and float64 columns vectorised but every other dtype one
    Python call per value: ``expect_column_values_to_be_between`` on a DuckDB INTEGER column
    (int32) or a nullable Int64 costs about 1 s per million rows, against milliseconds once
    widened. Widening changes no value (every int32 is an int64, every float32 a float64);
    nullable numbers become floats with NaN for null (sample values then print as ``5.0``).
    """
    widen: dict[str, Any] = {}
    for column, dtype in frame.dtypes.items():
        if isinstance(dtype, np.dtype) and dtype.kind in "iu" and dtype.itemsize < 8:
            widen[column] = np.int64
        elif (isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize < 8) or \
                isinstance(dtype, pd.Float64Dtype | pd.Float32Dtype):
            widen[column] = np.float64
        elif isinstance(dtype, pd.core.arrays.integer.IntegerDtype):
            # A nullable integer column (DuckDB's, when it holds nulls) as float64 with NaN for
            # null, which GX also counts as null; exact while every value is below 2**53.
            values = frame[column].dropna()
            if values.empty or int(values.abs().max()) < 2**53:
                widen[column] = np.float64
    return frame.astype(widen) if widen else frame


def _validator(suite: Suite) -> Callable[[pd.DataFrame, str | None, dt.datetime], list[dict]]:
    """Return a function validating one frame against suite, sharing one ephemeral context."""
    batch_definition = _batch_definition()
    # Two GX suites: the dtype checks see the frame as read, the rest see it widened.
    parts = [[(i, e) for i, e in enumerate(suite.expectations) if (e["type"] in DTYPE_LEVEL) == typed]
             for typed in (True, False)]
    gx_suites = [_gx_suite(suite.name, [e for _, e in part], [i for i, _ in part]) if part else None
                 for part in parts]
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": PARTIAL_UNEXPECTED}

    def run(frame: pd.DataFrame, partition: str | None, run_at: dt.datetime) -> list[dict]:
        by_index = {}
        for gx_suite, data in zip(gx_suites, (frame, _widened(frame)), strict=True):
            if gx_suite is None:
                continue
            with _quiet():
                batch = batch_definition.get_batch(batch_parameters={"dataframe": data})
                outcome = batch.validate(gx_suite, result_format=result_format)
            by_index |= {item.expectation_config.meta[_INDEX_KEY]: item
                         for item in outcome.results}
        rows = []
        for index, expectation in enumerate(suite.expectations):
            item = by_index[index]
            result = item.result or {}
            error = _exception_message(item.exception_info)
            missing = [c for c in _columns(expectation["kwargs"]) if c not in frame.columns]
            if missing:
                # Some GX expectations report a missing column only as "list index out of
                # range"; name it ourselves (and never let it pass).
                error = "; ".join(filter(None, [f"missing column(s): {', '.join(missing)}", error]))
            observed = error if error is not None else result.get("observed_value")
            unexpected = result.get("partial_unexpected_list") or []
            count, percent = result.get("unexpected_count"), result.get("unexpected_percent")
            rows.append({
                "suite": suite.name,
                "expectation": expectation["type"],
                "column": ",".join(_columns(expectation["kwargs"])) or None,
                "kwargs": _json(expectation["kwargs"]),
                "severity": _severity(expectation),
                "success": bool(item.success) and error is None,
                "observed_value": None if observed is None else _json(observed),
                "unexpected_count": None if count is None else int(count),
                "unexpected_percent": None if percent is None else float(percent),
                "unexpected_values": _json(unexpected[:PARTIAL_UNEXPECTED]) if unexpected else None,
                "partition": partition,
                "rows": len(frame),
                "run_at": run_at,
            })
        return rows

    return run


def validate(
    frame: pd.DataFrame,
    suite: Suite,
    partition: str | None = None,
    run_at: dt.datetime | None = None,
) -> pd.DataFrame:
    """Validate one DataFrame against a suite in an ephemeral GX context.

    Parameters
    ----------
    frame
        The rows to check, as one batch.
    suite
        From :func:`load_suite`.
    partition
        Label copied into the ``partition`` column, e.g. ``"2024-03-01"``.
    run_at
        Time of the run, stored as naive UTC; default now.

    Returns
    -------
    pandas.DataFrame
        ``RESULT_COLUMNS``, one row per expectation in suite order. ``kwargs``,
        ``observed_value`` and ``unexpected_values`` (up to 5 partial unexpected values) are JSON
        text. An expectation GX could not evaluate (e.g. a missing column) has success False and
        the exception message as ``observed_value``. Missing values are NA.
    """
    rows = _validator(suite)(frame, partition, _utc_naive(run_at))
    return _results_frame(rows)


def validate_table(relation: Any, suite: Suite, run_at: dt.datetime | None = None,
                   memo: GxMemo | None = None) -> pd.DataFrame:
    """Validate a whole relation as one batch, reading its rows into pandas only if GX needs them.

    What :mod:`mlmodels.quality.row_checks` counts exactly is counted in the warehouse (see
    :func:`validate_chunked`); GX validates the rest over the rows read at once. Returns the
    same rows as :func:`validate` on the relation's frame, in suite order; ``memo`` as in
    :func:`validate_chunked`.
    """
    relation, run_at = table(relation), _utc_naive(run_at)
    expectations = list(suite.expectations)
    by_position, left = _table_level_in_sql(relation, suite.name, expectations, run_at, memo)
    if left:
        check = _validator(replace(suite, expectations=tuple(expectations[i] for i in left)))
        by_position.update(zip(left, check(relation.df(), None, run_at), strict=True))
    return _results_frame([by_position[position] for position in range(len(expectations))])


def _label(value: Any) -> str | None:
    """Return a partition value as ISO text; midnight timestamps are labelled as dates."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime) and value.time() == dt.time(0) and value.tzinfo is None:
        # DuckDB hands DATE + INTERVAL arithmetic back as TIMESTAMP; label both the same way so
        # "expected" dates match.
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# Expectations about a partition as a whole (its size, its distribution): checked per partition.
# Every other expectation holds row by row or over the whole table, and is checked over chunks
# of whole partitions, which costs one GX run per chunk instead of one per partition.
PARTITION_LEVEL = {
    "expect_table_row_count_to_be_between", "expect_table_row_count_to_equal",
    "expect_column_mean_to_be_between", "expect_column_median_to_be_between",
    "expect_column_quantile_values_to_be_between", "expect_column_stdev_to_be_between",
    "expect_column_sum_to_be_between", "expect_column_min_to_be_between",
    "expect_column_max_to_be_between", "expect_column_proportion_of_unique_values_to_be_between",
}


def validate_chunked(
    relation: Any,
    suite: Suite,
    partition_column: str,
    expected: list | None = None,
    row_filter: str | None = None,
    chunk_rows: int = 1_000_000,
    run_at: dt.datetime | None = None,
    memo: GxMemo | None = None,
) -> pd.DataFrame:
    """Validate a relation in chunks of whole partitions, with bounded memory.

    Row- and table-level expectations that ``row_checks`` compiles are counted in SQL over the
    whole relation, type checks run in GX on a probe of a few rows; the rest run in GX once per
    chunk (up to ``chunk_rows`` rows of whole partitions, so a uniqueness check over (entity,
    partition) stays exact) and their results are combined: success if every chunk succeeds,
    unexpected counts summed. Partition-level expectations (``PARTITION_LEVEL``) are checked for
    every partition, including the ``expected`` partitions that have no rows, so an empty
    partition fails its row-count expectation: their statistics come from one SQL aggregate over
    all partitions, judged against their bounds as GX judges them (see
    ``mlmodels.quality.partition_stats``), except those the aggregate cannot express exactly,
    which GX validates partition by partition. With a ``memo`` (see
    :mod:`mlmodels.quality.gx_memo`), schema-level outcomes GX gave before for the same checks
    and dtypes are reused, so a suite that needs nothing else from GX runs without importing it.

    Returns
    -------
    pandas.DataFrame
        ``RESULT_COLUMNS``: table-level rows have ``partition`` None; partition-level rows carry
        the partition as ISO text, in suite order within each partition.
    """
    relation = table(relation)
    if row_filter:
        relation = relation.filter(row_filter)
    run_at = _utc_naive(run_at)
    table_part = [e for e in suite.expectations if e["type"] not in PARTITION_LEVEL]
    partition_part = [e for e in suite.expectations if e["type"] in PARTITION_LEVEL]
    types = dict(zip(relation.columns, relation.types, strict=True))
    statistics = [stat for index, expectation in enumerate(partition_part)
                  if (stat := partition_stats.statistic(index, expectation, types,
                                                        relation.quote))]
    in_sql = {stat.index for stat in statistics}
    in_gx = [index for index in range(len(partition_part)) if index not in in_sql]
    # Table-level results by position in table_part: counted in SQL where exact, the rest by GX.
    by_position, left = _table_level_in_sql(relation, suite.name, table_part, run_at, memo)
    check_table = (_validator(replace(suite, expectations=tuple(table_part[i] for i in left)))
                   if left else None)
    check_partition = (_validator(replace(suite, expectations=tuple(
        partition_part[index] for index in in_gx))) if in_gx else None)
    partition = relation.quote(partition_column)
    counts = relation.aggregate(f"{partition}, count(*)", group_by=partition).fetchall()
    present = {_label(value): value for value, _ in counts}
    wanted = sorted({_label(value) for value in expected or []} - set(present),
                    key=lambda text: text or "")
    chunks, current, size = [], [], 0
    for value, rows in sorted(counts, key=lambda pair: (pair[0] is None, _label(pair[0]) or "")):
        if current and size + rows > chunk_rows:
            chunks.append(current)
            current, size = [], 0
        current.append(value)
        size += rows
    if current:
        chunks.append(current)
    labels = [_label(value) for chunk in chunks for value in chunk] + wanted
    # by_partition[label][i]: the result of partition_part[i] on that partition.
    by_partition: dict[str | None, dict[int, dict]] = {label: {} for label in labels}
    if statistics:
        checked = _check_statistics(relation, suite.name, partition_column, partition_part,
                                    statistics, wanted, run_at)
        for label, index, row in checked:
            by_partition[label][index] = row

    table_rows: list[list[dict]] = []
    for chunk in chunks if check_table or check_partition else []:
        values = [literal(v) for v in chunk if v is not None]
        conditions = [f"{partition} in ({', '.join(values)})"] if values else []
        if None in chunk:
            conditions.append(f"{partition} is null")
        frame = relation.filter(" or ".join(conditions)).df()
        if check_table:
            table_rows.append(check_table(frame, None, run_at))
        if check_partition:
            partition_labels = frame[partition_column].map(_label)
            for value in chunk:
                label = _label(value)
                part = (frame[partition_labels.isna()] if label is None
                        else frame[partition_labels == label])
                rows = check_partition(part, label, run_at)
                by_partition[label].update(zip(in_gx, rows, strict=True))
    if check_partition:
        empty = relation.limit(0).df()
        for label in wanted:
            by_partition[label].update(zip(in_gx, check_partition(empty, label, run_at),
                                           strict=True))
    if check_table and not chunks:
        table_rows.append(check_table(relation.limit(0).df(), None, run_at))
    combined = [_combine(rows) for rows in zip(*table_rows, strict=True)] if table_rows else []
    by_position.update(zip(left, combined, strict=True))
    combined = [by_position[position] for position in range(len(table_part))]
    partition_rows = [rows[index] for label in labels
                      for rows in [by_partition[label]] for index in sorted(rows)]
    return _results_frame(combined + partition_rows)


# Expectations about the mart's columns and their dtypes only, not its values: GX checks them
# on a frame of a few rows read with the dtypes the whole mart would be read with.
SCHEMA_LEVEL = DTYPE_LEVEL | {
    "expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list",
    "expect_column_to_exist", "expect_table_column_count_to_equal",
    "expect_table_column_count_to_be_between",
}


def _table_level_in_sql(
    relation: Any, suite_name: str, expectations: list[dict], run_at: dt.datetime,
    memo: GxMemo | None = None,
) -> tuple[dict[int, dict], list[int]]:
    """Check table-level expectations without reading the mart's rows into pandas.

    Row-level expectations that :mod:`mlmodels.quality.row_checks` expresses exactly are counted
    by one aggregate over the relation (plus one query per uniqueness check, and one per check
    with unexpected rows, for their values); schema-level ones are checked by GX on a frame of
    at most one row per column holding a null (unless ``memo`` has GX's outcome for the same
    check and dtypes). Returns the result rows by position, and the positions left to GX over
    the rows.
    """
    types = dict(zip(relation.columns, relation.types, strict=True))
    checks = {index: check for index, expectation in enumerate(expectations)
              if (check := row_checks.compile_check(index, expectation, types, relation.quote))}
    schema = [index for index, expectation in enumerate(expectations)
              if expectation["type"] in SCHEMA_LEVEL]
    if not checks and not schema:
        return {}, list(range(len(expectations)))
    nulls = [(f"nulls_{position}", row_checks.count_where(f"{relation.quote(column)} is null"))
             for position, column in enumerate(relation.columns)]
    pairs = [("mlmodels_rows", "count(*)"), *row_checks.aggregates(list(checks.values()))]
    counts = _aggregate_once(relation, pairs + nulls)
    total = int(counts["mlmodels_rows"])
    results: dict[int, dict] = {}
    for index, check in checks.items():
        expectation = expectations[index]
        considered = int(counts[f"{check.name}_considered"])
        if check.unexpected is None:
            unexpected = int(relation.query(row_checks.duplicates_query(check)).fetchall()[0][0])
        else:
            unexpected = int(counts[f"{check.name}_unexpected"])
        values = _sample(relation, check, expectation) if unexpected else []
        results[index] = {
            "suite": suite_name,
            "expectation": expectation["type"],
            "column": ",".join(_columns(expectation["kwargs"])) or None,
            "kwargs": _json(expectation["kwargs"]),
            "severity": _severity(expectation),
            "success": row_checks.success(considered, unexpected, check.mostly),
            "observed_value": None,
            "unexpected_count": unexpected,
            "unexpected_percent": 100 * unexpected / considered if considered else None,
            "unexpected_values": _json(values) if values else None,
            "partition": None,
            "rows": total,
            "run_at": run_at,
        }
    # The dtypes pandas gives the whole mart: a column holding a null reads as a nullable dtype.
    with_nulls = [column for position, column in enumerate(relation.columns)
                  if counts[f"nulls_{position}"]]
    dtypes = relation.query(" union all ".join(
        [f"(select * from {{rel}} where {relation.quote(c)} is null limit 1)" for c in with_nulls]
        or ["select * from {rel} limit 0"])).df()
    # An object column's dtype check looks at its values: that one GX checks over the rows.
    schema = [index for index in schema
              if not (expectations[index]["type"] in DTYPE_LEVEL
                      and str(expectations[index]["kwargs"].get("column")) in dtypes
                      and dtypes[str(expectations[index]["kwargs"]["column"])].dtype == object)]
    # A schema-level check's outcome depends on its kwargs and the probe's columns and dtypes
    # only (a dtype check: on its column's dtype): GX checks one of each group of checks with the
    # same key (a drafted suite has a few groups, dozens of columns), and the memo keeps it.
    keyed = {index: _schema_key(expectations[index], dtypes) for index in schema}
    groups: dict[str, list[int]] = {}
    for index in schema:
        groups.setdefault(keyed[index] or f"alone {index}", []).append(index)
    memo = memo or GxMemo(None)
    memoised = {key for key, members in groups.items() if keyed[members[0]]}  # not "alone"
    known = {key: stored for key in memoised if (stored := memo.schema_result(digest(key)))}
    asked = [key for key in groups if key not in known]
    if asked:
        leaders = tuple(expectations[groups[key][0]] for key in asked)
        rows = _validator(Suite(suite_name, "", leaders, {}))(dtypes, None, run_at)
        for key, row in zip(asked, rows, strict=True):
            known[key] = {field: row[field] for field in RESULT_FIELDS}
            if key in memoised:
                memo.remember_schema(digest(key), row)
    for key, members in groups.items():
        for index in members:
            expectation = expectations[index]
            # GX's outcome first: every field that describes this check and run is the run's own.
            results[index] = {
                **known[key], "suite": suite_name, "expectation": expectation["type"],
                "column": ",".join(_columns(expectation["kwargs"])) or None,
                "kwargs": _json(expectation["kwargs"]), "severity": _severity(expectation),
                "partition": None, "rows": total, "run_at": run_at,
            }
    return results, [index for index in range(len(expectations)) if index not in results]


def _aggregate_once(relation: Any, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Return each (name, SQL) aggregate's value from one query that computes each SQL once.

    Planning dominates an aggregate of a few hundred counts over a mart of thousands of rows, so
    the counts several checks share (a not-null check's, its column's null count, every
    ``count(*)``) are written once.
    """
    distinct = list(dict.fromkeys(sql for _, sql in pairs))
    values = relation.aggregate(partition_stats.select_list(
        [(f"mlmodels_{position}", sql) for position, sql in enumerate(distinct)])).fetchall()[0]
    by_sql = dict(zip(distinct, values, strict=True))
    return {name: by_sql[sql] for name, sql in pairs}


def _schema_key(expectation: dict, probe: pd.DataFrame) -> str | None:
    """Return what a schema-level check's outcome on the probe depends on, as JSON text.

    A dtype check on a column of the probe depends on that column's dtype; any other check on
    the probe's columns and all their dtypes. None for a check with a row condition, which
    looks at the probe's values.
    """
    kwargs = dict(expectation["kwargs"])
    if "row_condition" in kwargs:
        return None
    column = str(kwargs.pop("column", None))
    # key_text, not _json: NaN and null are different bounds to GX.
    if expectation["type"] in DTYPE_LEVEL and column in probe:
        return key_text([expectation["type"], kwargs, str(probe[column].dtype)])
    return key_text([expectation["type"], expectation["kwargs"],
                     [[str(name), str(dtype)] for name, dtype in probe.dtypes.items()]])


def _sample(relation: Any, check: row_checks.RowCheck, expectation: dict) -> list:
    """Return up to five unexpected values of a check, read as GX reads them (via pandas)."""
    frame = relation.query(row_checks.sample_query(check)).df()
    if check.key:
        return [dict(zip(check.key, row, strict=True))
                for row in frame.astype(object).itertuples(index=False)]
    return list(frame.iloc[:, 0].astype(object))


def _check_statistics(
    relation: Any,
    suite_name: str,
    partition_column: str,
    expectations: list[dict],
    statistics: list[partition_stats.Statistic],
    wanted: list[str | None],
    run_at: dt.datetime,
) -> list[tuple[str | None, int, dict]]:
    """Check partition-level expectations on statistics of one aggregate; (label, index, row).

    One row per partition present, plus one per ``wanted`` partition with no rows, whose
    statistics are those of the same aggregate over no rows (count 0, sum 0, mean null, ...).
    """
    aggregates = partition_stats.select_list(
        [("mlmodels_rows", "count(*)")] + [pair for s in statistics for pair in s.aggregates])
    columns = partition_stats.select_list(
        [("mlmodels_rows", "mlmodels_rows")] + [pair for s in statistics for pair in s.columns])
    partition = relation.quote(partition_column)
    grouped = relation.aggregate(f"{partition} as mlmodels_partition, {aggregates}",
                                 group_by=partition)
    present = grouped.project(f"mlmodels_partition, {columns}").df()
    present["mlmodels_partition"] = [_label(v) for v in present["mlmodels_partition"].astype(object)]
    empty = relation.limit(0).aggregate(aggregates).project(columns).df()
    for stat in statistics:
        if stat.quantiles is None:
            continue
        ranked = relation.query(partition_stats.quantile_query(stat, partition_column,
                                                               relation.quote)).df()
        labels = [_label(v) for v in ranked["mlmodels_partition"].astype(object)]
        for name in stat.names:
            by_label = dict(zip(labels, ranked[name].astype(object), strict=True))
            # A partition with no value (all null) is not in the ranking: no quantile.
            present[name] = [by_label.get(label) for label in present["mlmodels_partition"]]
            empty[name] = None
    frame = pd.concat([present] + [empty.assign(mlmodels_partition=label) for label in wanted],
                      ignore_index=True)
    checks = [check for s in statistics for check in s.checks]
    failing = [{row for row, value in enumerate(frame[check["kwargs"]["column"]].astype(object))
                if partition_stats.outside(_plain(value), check["kwargs"])} for check in checks]
    checked, position = [], 0
    for stat in statistics:
        expectation = expectations[stat.index]
        stat_failing = set().union(*failing[position:position + len(stat.checks)])
        position += len(stat.checks)
        for row_number, row in enumerate(frame.itertuples(index=False)):
            record = row._asdict()
            values = [_plain(record[name]) for name in stat.names]
            observed: Any = values[0]
            if stat.quantiles is not None:
                observed = {"quantiles": list(stat.quantiles), "values": values}
            elif expectation["type"] in partition_stats.ROW_COUNT:
                observed = int(observed)
            checked.append((record["mlmodels_partition"], stat.index, {
                "suite": suite_name,
                "expectation": expectation["type"],
                "column": ",".join(_columns(expectation["kwargs"])) or None,
                "kwargs": _json(expectation["kwargs"]),
                "severity": _severity(expectation),
                # A statistic that does not exist (the mean of no values) fails, as in GX.
                "success": None not in values and row_number not in stat_failing,
                "observed_value": None if observed is None else _json(observed),
                "unexpected_count": None,
                "unexpected_percent": None,
                "unexpected_values": None,
                "partition": record["mlmodels_partition"],
                "rows": int(record["mlmodels_rows"]),
                "run_at": run_at,
            }))
    return checked


def _combine(rows: tuple[dict, ...]) -> dict:
    """Merge one expectation's results over chunks into one result."""
    if len(rows) == 1:
        return rows[0]
    failing = [r for r in rows if not r["success"]]
    first = failing[0] if failing else rows[0]
    counts = [r["unexpected_count"] for r in rows if r["unexpected_count"] is not None]
    total = sum(r["rows"] for r in rows)
    values: list[Any] = []
    for r in failing:
        if r["unexpected_values"]:
            values += json.loads(r["unexpected_values"])
    return {
        **first,
        "success": not failing,
        "unexpected_count": sum(counts) if counts else None,
        "unexpected_percent": (100 * sum(counts) / total) if counts and total else None,
        "unexpected_values": _json(values[:PARTIAL_UNEXPECTED]) if values else None,
        "rows": total,
    }


def failed(results: pd.DataFrame, severity: str | None = "error") -> pd.DataFrame:
    """Return the unsuccessful result rows of one severity.

    Parameters
    ----------
    results
        From :func:`validate` or :func:`validate_chunked`.
    severity
        "error" or "warn"; None for both.
    """
    mask = ~results["success"].astype(bool)
    if severity is not None:
        mask &= results["severity"] == severity
    return results[mask]


def summary(results: pd.DataFrame) -> str:
    """Describe each failed expectation in one human line; empty text if none failed.

    A line reads ``suite feat_customer__as_of: expect_column_values_to_not_be_null on
    customer_id failed in partition 2024-03-01 (12 unexpected, 0.4%)``; warn-level failures
    end with ``[warn]``.
    """
    lines = []
    for row in failed(results, severity=None).itertuples(index=False):
        text = f"suite {row.suite}: {row.expectation}"
        if not pd.isna(row.column):
            text += f" on {row.column}"
        text += " failed"
        if not pd.isna(row.partition):
            text += f" in partition {row.partition}"
        if not pd.isna(row.unexpected_count):
            percent = "" if pd.isna(row.unexpected_percent) else f", {row.unexpected_percent:.3g}%"
            text += f" ({row.unexpected_count} unexpected{percent})"
        elif not pd.isna(row.observed_value):
            text += f" (observed {row.observed_value})"
        if row.severity != "error":
            text += f" [{row.severity}]"
        lines.append(text)
    return "\n".join(lines)


def _bound(series: pd.Series, value: Any) -> Any:
    """Return a between-bound comparable with series (timestamps for datetime columns)."""
    if value is not None and pd.api.types.is_datetime64_any_dtype(series):
        return pd.Timestamp(value)
    return value


def _unexpected(frame: pd.DataFrame, expectation: dict) -> pd.Series:
    """Return the mask of rows failing one row-level expectation, with GX's null handling."""
    type_, kwargs = expectation["type"], expectation["kwargs"]
    if kwargs.get("row_condition"):
        raise ValueError(f"quarantine does not support row_condition ({type_})")
    if kwargs["column"] not in frame.columns:
        raise ValueError(f"quarantine: column {kwargs['column']!r} is missing ({type_})")
    values = frame[kwargs["column"]]
    if type_ == "expect_column_values_to_not_be_null":
        return values.isna()
    # Every other row-level expectation ignores nulls, as GX does.
    present = values.notna()
    if type_ == "expect_column_values_to_be_in_set":
        return present & ~values.isin(kwargs["value_set"])
    if type_ == "expect_column_values_to_not_be_in_set":
        return present & values.isin(kwargs["value_set"])
    if type_ == "expect_column_values_to_match_regex":
        # GX's pandas engine: str(value) searched with the regex, not fully matched.
        return present & ~values.astype(str).str.contains(kwargs["regex"], regex=True)
    low, high = _bound(values, kwargs.get("min_value")), _bound(values, kwargs.get("max_value"))
    inside = pd.Series(True, index=frame.index)
    if low is not None:
        inside &= values > low if kwargs.get("strict_min") else values >= low
    if high is not None:
        inside &= values < high if kwargs.get("strict_max") else values <= high
    return present & ~inside.fillna(False).astype(bool)


def quarantine(frame: pd.DataFrame, suite: Suite) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a frame by the suite's row-level expectations.

    Evaluated with pandas, with GX's semantics: nulls are ignored by every row-level expectation
    but not-null, bounds are inclusive unless ``strict_min``/``strict_max``, regexes are
    searched in the text of the value. ``mostly`` is ignored: any failing row is quarantined.
    Expectations of both severities apply.

    Parameters
    ----------
    frame
        The rows to split.
    suite
        From :func:`load_suite`; only error-severity expectations whose type is in
        ``ROW_LEVEL`` are used.

    Returns
    -------
    clean, quarantined : pandas.DataFrame
        Rows failing no row-level expectation, and the other rows with an extra column
        ``quarantine_reason``: every failed expectation as ``type(column)``, joined by "; ".
        Both keep the frame's index.

    Raises
    ------
    ValueError
        If a row-level expectation names a missing column or uses ``row_condition``.
    """
    # Error severity only: a warning never takes a row out of training or scoring.
    checks = [e for e in suite.expectations
              if e["type"] in ROW_LEVEL and _severity(e) == "error"]
    labels = np.array([f"{e['type']}({e['kwargs']['column']})" for e in checks], dtype=object)
    masks = np.zeros((len(frame), len(checks)), dtype=bool)
    for position, expectation in enumerate(checks):
        masks[:, position] = _unexpected(frame, expectation).to_numpy(dtype=bool)
    bad = masks.any(axis=1)
    reasons = ["; ".join(labels[row]) for row in masks[bad]]
    quarantined = frame[bad].assign(quarantine_reason=reasons)
    return frame[~bad], quarantined
