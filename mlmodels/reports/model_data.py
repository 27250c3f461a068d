"""What the model page reads: the warehouse tables of one model version, tolerant of absence.

A table that does not exist yet, has no rows for the version or lacks a column the page reads
gives its section a "not available yet" note instead of an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from mlmodels.reports.html import NOT_AVAILABLE, as_number, as_text, escape
from mlmodels.sql import quote

REGISTRY = "ml_model_registry"

EVALUATION_TABLES = {
    "metrics": "ml_evaluation__metrics",
    "curves": "ml_evaluation__curves",
    "confusion": "ml_evaluation__confusion",
    "thresholds": "ml_evaluation__thresholds",
    "importances": "ml_evaluation__importances",
}

SPLITS = ("train", "valid", "test")

METRIC_COLUMNS = ("model", "split", "metric", "value")

BASELINES = ("prior", "linear", "rule")

REALISED_COLUMNS = (
    "role", "period", "labelled_rows", "positives", "actual_rate", "predicted_rate",
    "predicted_positive_share", "roc_auc", "pr_auc", "precision", "recall", "f1", "threshold",
    "rmse", "mae", "r2", "mean_prediction", "mean_actual",
)

# What the retrain_signal macro writes beside the verdict (performance_metric names the metric of
# realised_value and test_value: roc_auc or rmse). Whichever exist are shown.
RETRAIN_COLUMNS = ("max_tier1_psi", "performance_metric", "performance_as_of", "realised_value",
                   "test_value", "rolling_predicted_rate", "rolling_actual_rate", "rate_gap")

# Names end up in a file path and in table names; keep them to plain identifier characters.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def resolve(
    con: duckdb.DuckDBPyConnection, model_name: str, version: str | None, as_of_column: str,
    schema: str,
) -> tuple[Source, dict[str, Any]]:
    """Check the names and return the source of the chosen version and its registry row."""
    for label, name in (("model_name", model_name), ("schema", schema),
                        ("as_of_column", as_of_column), ("version", version)):
        if name is not None:
            _check_name(label, name)
    registered = Source(con, schema, model_name, as_of_column, "").registry_row(version)
    chosen = as_text(registered.get("model_version"))
    _check_name("version", chosen)  # it names the file
    return Source(con, schema, model_name, as_of_column, chosen), registered


@dataclass(frozen=True)
class Source:
    """Where the page reads from: a connection, a schema, and the model version."""

    con: duckdb.DuckDBPyConnection
    schema: str
    model_name: str
    as_of: str
    version: str

    def columns(self, table: str) -> list[str] | None:
        """Return a table's columns in order, None when it does not exist in the schema."""
        rows = self.con.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = current_database() and table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [self.schema, table],
        ).fetchall()
        return [row[0] for row in rows] or None

    def read(self, table: str) -> pd.DataFrame | None:
        """Return the version's rows of a table (all rows without those keys), None if absent."""
        columns = self.columns(table)
        if columns is None:
            return None
        keys = {"model_name": self.model_name, "model_version": self.version}
        where = [f"{quote(c)} = ?" for c in keys if c in columns]
        sql = f"select * from {quote(self.schema)}.{quote(table)}"
        if where:
            sql += " where " + " and ".join(where)
        return self.con.execute(sql, [v for c, v in keys.items() if c in columns]).df()

    def registry_row(self, version: str | None) -> dict[str, Any]:
        """Return the registry row of a version (default: the champion, else the latest)."""
        if self.columns(REGISTRY) is None:
            raise ValueError(f"no table {self.schema}.{REGISTRY}: build the dbt project first")
        versions = self.con.execute(
            f"select * from {quote(self.schema)}.{quote(REGISTRY)} where model_name = ? "
            "order by trained_at desc nulls last, model_version",
            [self.model_name],
        ).df()
        if versions.empty:
            raise ValueError(f"model {self.model_name!r} is not in {self.schema}.{REGISTRY}")
        if version is not None:
            chosen = versions[versions["model_version"] == version]
            if chosen.empty:
                known = ", ".join(versions["model_version"].astype(str))
                raise ValueError(
                    f"model {self.model_name!r} has no version {version!r} (known: {known})")
        else:
            champions = versions[versions["status"] == "champion"]
            chosen = champions if not champions.empty else versions
        return chosen.iloc[0].to_dict()

    def name(self, table: str) -> str:
        """Return a table's qualified name for display."""
        return f"{self.schema}.{table}"

    def monitoring(self, suffix: str) -> str:
        """Return the name of one of the model's monitoring tables."""
        return f"ml_{self.model_name}__{suffix}"


def _check_name(label: str, value: str) -> None:
    """Raise ValueError unless value is a plain name (safe in a path and an identifier)."""
    if not isinstance(value, str) or not _SAFE_NAME.fullmatch(value) or ".." in value:
        raise ValueError(f"{label} must be a plain name (letters, digits, _ . -), got {value!r}")


def unusable(
    source: Source, table: str, frame: pd.DataFrame | None, required: Sequence[str] = ()
) -> str:
    """Return the "not available yet" note of a missing, empty or incomplete table, else ""."""
    missing = [] if frame is None else [c for c in required if c not in frame.columns]
    if frame is None:
        why = "does not exist"
    elif missing:
        # A table still being built may not have its final columns yet.
        why = "has no column " + ", ".join(missing)
    elif frame.empty:
        why = "has no rows for this version"
    else:
        return ""
    return (f'<p class="na">{escape(NOT_AVAILABLE)}: <code>{escape(source.name(table))}</code> '
            f"{escape(why)}.</p>")


def monitoring_frame(source: Source, name: str,
                     required: Sequence[str]) -> tuple[pd.DataFrame | None, str]:
    """Return a monitoring table's rows of this version sorted by as_of, and "" as the note.

    ``(None, note)`` when the table is missing, empty or lacks a ``required`` column.
    """
    table = source.monitoring(name)
    frame = source.read(table)
    note = unusable(source, table, frame, required)
    if frame is None or note:
        return None, note
    return frame.sort_values(source.as_of), ""


def metric_value(metrics: pd.DataFrame | None, model: str, split: str, metric: str) -> float:
    """Return one value of the metrics table, NaN when it is not there."""
    if metrics is None or metrics.empty:
        return math.nan
    hit = metrics[(metrics["model"] == model) & (metrics["split"] == split)
                  & (metrics["metric"] == metric)]
    return as_number(hit["value"].iloc[0]) if not hit.empty else math.nan
