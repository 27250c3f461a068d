"""A static HTML page of one model version: what it is, how it did, and how it is holding up.

The page reads the warehouse tables the dbt project builds (the registry, the evaluation tables and
a model's monitoring tables) and is one self-contained file: plain HTML, a ``<style>`` element and
inline SVG charts drawn here, with no scripts, fonts or images. It renders offline and can be
attached to a ticket or served from a bucket as is. A table that does not exist yet, has no
rows for the version or lacks a column the page reads gives its section a "not available yet"
note instead of an error: the monitoring tables arrive later than the registry.
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from mlmodels.report import (
    _CSS,
    _e,
    _is_missing,
    _number,
    _page_head,
    _text,
    _truthy,
    _write_atomic,
)
from mlmodels.specs import HIGHER_IS_BETTER, PSI_DRIFT, PSI_MODERATE, TASK_METRICS

NOT_AVAILABLE = "not available yet"
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
PSI_BANDS = {"stable": ("#a7e3b4", "#0b3d17"), "moderate": ("#f5c451", "#3d2c00"),
             "drift": ("#e5534b", "#ffffff"), "missing": ("#eaeef2", "#59636e")}
MAX_AS_OF_COLUMNS = 36
MAX_IMPORTANCES = 30
MAX_THRESHOLD_ROWS = 20
PALETTE = ("#0969da", "#bc4c00", "#1a7f37", "#8250df", "#cf222e", "#6e7781")
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
_CHAR_PX = 7.5  # a generous average glyph width of 12px system-ui text, to size label margins

_MODEL_CSS = """
nav.toc { font-size: 0.85rem; margin-top: 0.8rem; }
nav.toc a { margin-right: 1rem; }
table.kv { width: auto; }
table.kv th { width: 11rem; }
.badge.champion { background: #1a7f37; }
.badge.challenger { background: #0969da; }
.badge.rejected { background: #cf222e; }
.badge.retired, .badge.unknown { background: #6e7781; }
.na { color: #59636e; font-style: italic; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
figure.chart { margin: 0.6rem 0 0 0; }
figure.chart svg { display: block; }
figure.chart figcaption { font-size: 0.8rem; color: #59636e; margin-top: 0.2rem; }
.legend span { display: inline-block; margin-right: 0.9rem; white-space: nowrap; }
.legend i { display: inline-block; width: 1.4rem; height: 0; border-top: 3px solid;
            vertical-align: middle; margin-right: 0.3rem; }
.legend i.dashed { border-top-style: dashed; }
.legend i.box { width: 0.9rem; height: 0.9rem; border: 1px solid #8c959f; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
td.better { color: #1a7f37; font-weight: 600; }
td.worse { color: #cf222e; font-weight: 600; }
tr.selected td:not([rowspan]) { font-weight: 600; }
tr.registered td { background: #ddf4ff; }
tr.registered td:first-child { border-left: 4px solid #0969da; }
table.confusion { width: auto; display: inline-table; margin-right: 2rem; }
table.confusion td { min-width: 6rem; }
table.narrow { width: auto; }
td.date { white-space: nowrap; }
"""


def write_model_report(
    con: duckdb.DuckDBPyConnection,
    model_name: str,
    out_dir: Path,
    version: str | None = None,
    as_of_column: str = "as_of_date",
    schema: str = "main",
) -> Path:
    """Write the HTML report of one model version and return its path.

    Parameters
    ----------
    con
        A connection to the warehouse (read-only is enough).
    model_name
        The model's name as in ``ml_model_registry.model_name`` (``churn``); its monitoring
        tables are ``ml_<model_name>__feature_drift``, ``__prediction_drift``,
        ``__realised_performance`` and ``__retrain_signal``.
    out_dir
        The reports' folder; the page goes to ``out_dir/<model_name>/<version>.html`` (folders
        are created). The file is replaced atomically (a temporary file in the same folder,
        then renamed), so a reader never sees half a page.
    version
        The model version; None for the model's champion or, without one, the version
        trained last.
    as_of_column
        The date column of the monitoring tables.
    schema
        The schema of every table read.

    Returns
    -------
    pathlib.Path
        The written page.

    Raises
    ------
    ValueError
        When ``model_name``, ``version``, ``schema`` or ``as_of_column`` is not a plain name,
        when the registry table does not exist, or when it has no such model or version.

    Notes
    -----
    Sections, top to bottom: the version's registry entry (status and reason, task, estimator,
    threshold, data windows); metrics per split against the baselines; ROC, precision-recall
    and calibration curves, confusion matrices, a threshold table and permutation importances;
    feature drift as a heatmap of PSI per feature and as_of; prediction drift; realised
    performance against the test value; and the retraining signal. Every value is
    HTML-escaped; the page references nothing outside itself.

    Examples
    --------
    >>> with duckdb.connect("warehouse/demo.duckdb", read_only=True) as con:  # doctest: +SKIP
    ...     write_model_report(con, "churn", Path("dbt_project/target/model_reports"))
    PosixPath('dbt_project/target/model_reports/churn/b2475d1058ba7a85.html')
    """
    source, registered = _resolve(con, model_name, version, as_of_column, schema)
    path = Path(out_dir) / model_name / f"{source.version}.html"
    _write_atomic(path, _page(source, registered))
    return path


def render_model_report(
    con: duckdb.DuckDBPyConnection,
    model_name: str,
    version: str | None = None,
    as_of_column: str = "as_of_date",
    schema: str = "main",
) -> str:
    """Return the HTML text of the page :func:`write_model_report` writes."""
    return _page(*_resolve(con, model_name, version, as_of_column, schema))


def _resolve(
    con: duckdb.DuckDBPyConnection, model_name: str, version: str | None, as_of_column: str,
    schema: str,
) -> tuple[_Source, dict[str, Any]]:
    """Check the names and return the source of the chosen version and its registry row."""
    for label, name in (("model_name", model_name), ("schema", schema),
                        ("as_of_column", as_of_column), ("version", version)):
        if name is not None:
            _check_name(label, name)
    registered = _Source(con, schema, model_name, as_of_column, "").registry_row(version)
    chosen = _text(registered.get("model_version"))
    _check_name("version", chosen)  # it names the file
    return _Source(con, schema, model_name, as_of_column, chosen), registered


# ------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Source:
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
        where = [f"{_quote(c)} = ?" for c in keys if c in columns]
        sql = f"select * from {_quote(self.schema)}.{_quote(table)}"
        if where:
            sql += " where " + " and ".join(where)
        return self.con.execute(sql, [v for c, v in keys.items() if c in columns]).df()

    def registry_row(self, version: str | None) -> dict[str, Any]:
        """Return the registry row of a version (default: the champion, else the latest)."""
        if self.columns(REGISTRY) is None:
            raise ValueError(f"no table {self.schema}.{REGISTRY}: build the dbt project first")
        versions = self.con.execute(
            f"select * from {_quote(self.schema)}.{_quote(REGISTRY)} where model_name = ? "
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


def _quote(identifier: str) -> str:
    """Return a double-quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


# ---------------------------------------------------------------------------------- page


def _page(source: _Source, registered: dict[str, Any]) -> str:
    """Return the whole page of a version."""
    title = f"Model report: {source.model_name} {source.version}"
    is_classifier = _text(registered.get("task")) != "regression"
    metrics = source.read(EVALUATION_TABLES["metrics"])
    usable = None if _unusable(source, "", metrics, METRIC_COLUMNS) else metrics
    sections = [
        ("evaluation-metrics", "Metrics against the baselines", _metrics_section(
            source, metrics, registered)),
        ("evaluation-curves", "Evaluation", _evaluation_section(
            source, registered, is_classifier, usable)),
        ("feature-drift", "Feature drift", _feature_drift_section(source)),
        ("prediction-drift", "Prediction drift", _prediction_drift_section(source)),
        ("realised-performance", "Realised performance", _realised_section(
            source, is_classifier, usable)),
        ("retrain-signal", "Retraining signal", _retrain_section(source)),
    ]
    toc = "".join(f'<a href="#{anchor}">{_e(heading)}</a>' for anchor, heading, _ in sections)
    parts = [
        *_page_head(title, _CSS + _MODEL_CSS),
        "<body>",
        _header(source, registered),
        f'<nav class="toc">{toc}</nav>',
    ]
    parts += [f'<h2 id="{anchor}">{_e(heading)}</h2>{body}' for anchor, heading, body in sections]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _unusable(
    source: _Source, table: str, frame: pd.DataFrame | None, required: Sequence[str] = ()
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
    return (f'<p class="na">{_e(NOT_AVAILABLE)}: <code>{_e(source.name(table))}</code> '
            f"{_e(why)}.</p>")


# -------------------------------------------------------------------------------- header


def _header(source: _Source, row: dict[str, Any]) -> str:
    """Return the title, the status line and the version's registry facts and data windows."""
    status = _text(row.get("status")) or "unknown"
    badge = status if status in {"champion", "challenger", "rejected", "retired"} else "unknown"
    facts = [
        ("Task", _e(row.get("task"))),
        ("Estimator", f"<code>{_e(row.get('estimator'))}</code>"),
        ("Parameters", f"<code>{_e(_params_text(row.get('params')))}</code>"),
        ("Threshold", _e(_num(row.get("threshold")))),
        ("Selection metric", _e(_selection_text(row))),
        ("Success criterion", _e(_success_text(row))),
        ("Features", _e(_features_text(row))),
        ("Trained at", _e(_when(row.get("trained_at")))),
        ("Promoted at", _e(_when(row.get("promoted_at")))),
        ("Split strategy", _e(row.get("split_strategy"))),
    ]
    facts_html = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in facts if v)
    windows = []
    for split in (*SPLITS, "fit"):
        cells = [row.get(f"{split}_from"), row.get(f"{split}_to"), row.get(f"{split}_rows")]
        if all(_is_missing(c) for c in cells):
            continue
        windows.append(
            f"<tr><td>{_e(split)}</td><td>{_e(_when(cells[0]))}</td><td>{_e(_when(cells[1]))}</td>"
            f'<td class="num">{_e(_count(cells[2]))}</td></tr>')
    windows_html = (
        "<h3>Data windows</h3><table class=\"narrow\"><thead><tr><th>Split</th><th>From</th>"
        f"<th>To</th><th>Rows</th></tr></thead><tbody>{''.join(windows)}</tbody></table>"
        if windows else "")
    return (
        f"<h1>Model report: {_e(source.model_name)}</h1>"
        f'<p class="meta">version <code>{_e(source.version)}</code> '
        f'<span class="badge {badge}">{_e(status)}</span> '
        f"trained at {_e(_when(row.get('trained_at')))}; tables from schema "
        f"<code>{_e(source.schema)}</code></p>"
        f"<p><strong>Status reason:</strong> {_e(row.get('reason')) or '(none recorded)'}</p>"
        f'<table class="kv"><tbody>{facts_html}</tbody></table>{windows_html}'
    )


def _params_text(value: Any) -> str:
    """Return estimator parameters as "name=value, ..." (JSON text is parsed)."""
    text = "" if _is_missing(value) else str(value)
    try:
        params = json.loads(text)
    except ValueError:
        return text
    if not isinstance(params, dict):
        return text
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(params.items())) or "(defaults)"


def _selection_text(row: dict[str, Any]) -> str:
    """Return "pr_auc: test 0.6202, valid 0.5454, train 0.6124" from the registry row."""
    metric = _text(row.get("selection_metric"))
    if not metric:
        return ""
    scores = [f"{s} {_num(row.get(f'{s}_score'))}" for s in ("test", "valid", "train")
              if not _is_missing(row.get(f"{s}_score"))]
    return f"{metric}: " + ", ".join(scores) if scores else metric


def _success_text(row: dict[str, Any]) -> str:
    """Return "recall >= 0.5: 0.8875 (met)" from the registry row."""
    metric = _text(row.get("success_metric"))
    if not metric:
        return ""
    sign = ">=" if HIGHER_IS_BETTER.get(metric, True) else "<="
    met = row.get("met_criterion")
    verdict = "" if _is_missing(met) else " (met)" if _truthy(met) else " (not met)"
    return (f"{metric} {sign} {_num(row.get('success_target'))}: "
            f"{_num(row.get('success_value'))}{verdict}")


def _features_text(row: dict[str, Any]) -> str:
    """Return "19 numeric, 3 categorical" from the registry's JSON feature lists."""
    counts = []
    for kind in ("numeric", "categorical"):
        try:
            value = row.get(f"{kind}_features")
            names = json.loads("[]" if _is_missing(value) else str(value))
        except ValueError:
            continue
        if isinstance(names, list):
            counts.append(f"{len(names)} {kind}")
    return ", ".join(counts)


# ------------------------------------------------------------------------------- metrics


def _metrics_section(
    source: _Source, metrics: pd.DataFrame | None, registered: dict[str, Any]
) -> str:
    """Return the table of split x metric with the model beside each baseline."""
    note = _unusable(source, EVALUATION_TABLES["metrics"], metrics, METRIC_COLUMNS)
    if metrics is None or note:
        return note
    models = _ordered(metrics["model"].astype(str).unique(), ("model", *BASELINES))
    baselines = [m for m in models if m != "model"]
    task = _text(registered.get("task"))
    metric_order = _ordered(metrics["metric"].astype(str).unique(), TASK_METRICS.get(task, ()))
    values = {(str(r.split), str(r.metric), str(r.model)): _number(r.value)
              for r in metrics.itertuples(index=False)}
    selected = _text(registered.get("selection_metric"))
    header = ("<tr><th>Split</th><th>Metric</th>"
              + "".join(f"<th>{_e(m)}</th>" for m in models)
              + "<th>Model vs best baseline</th></tr>")
    body = []
    for split in _ordered(metrics["split"].astype(str).unique(), SPLITS):
        present = [m for m in metric_order if any((split, m, k) in values for k in models)]
        for i, metric in enumerate(present):
            cells = [f'<td class="num">{_e(_num(values.get((split, metric, m))))}</td>'
                     for m in models]
            first = (f'<td rowspan="{len(present)}">{_e(split)}</td>' if i == 0 else "")
            delta = _versus_baselines(values, split, metric, baselines)
            row_class = ' class="selected"' if metric == selected else ""
            body.append(f"<tr{row_class}>{first}<td>{_e(metric)}</td>{''.join(cells)}{delta}</tr>")
    return (
        '<p class="meta">Each baseline is scored on the same rows as the model; the last column '
        "is the model minus the best baseline, green when the model is better (lower for "
        "losses and errors) by more than 0.1%. Precision, recall, F1 and accuracy depend on "
        "each one's own decision threshold. The selection metric is in bold.</p>"
        f"<table><thead>{header}</thead><tbody>{''.join(body)}</tbody></table>"
    )


def _versus_baselines(
    values: dict[tuple[str, str, str], float], split: str, metric: str, baselines: list[str]
) -> str:
    """Return the cell of the model's difference to the best baseline for one metric."""
    higher = HIGHER_IS_BETTER.get(metric)
    model = values.get((split, metric, "model"), math.nan)
    scores = [values[(split, metric, b)] for b in baselines
              if not math.isnan(values.get((split, metric, b), math.nan))]
    if higher is None or math.isnan(model) or not scores:
        return "<td></td>"  # a rate or a mean: no better or worse
    best = max(scores) if higher else min(scores)
    delta = model - best
    better = delta > 0 if higher else delta < 0
    # A difference within 0.1% of the baseline is a tie, not a win or a loss.
    tie = abs(delta) <= 1e-3 * abs(best)
    css = "num" if tie else "num better" if better else "num worse"
    return f'<td class="{css}">{_e(f"{delta:+.4g}")}</td>'


# ---------------------------------------------------------------------------- evaluation


def _evaluation_section(
    source: _Source, registered: dict[str, Any], is_classifier: bool,
    metrics: pd.DataFrame | None,
) -> str:
    """Return the curves, confusion matrices, threshold table and importances."""
    curves = source.read(EVALUATION_TABLES["curves"])
    parts = ["<h3>Curves</h3>", _curves_html(source, curves, is_classifier, metrics)]
    if is_classifier:
        parts += ["<h3>Confusion matrix</h3>", _confusion_html(source)]
        parts += ["<h3>Thresholds</h3>", _thresholds_html(source, registered)]
    else:
        parts.append('<p class="meta">ROC and precision-recall curves, calibration, the '
                     "confusion matrix and the threshold table are for classifiers; this is a "
                     "regression model.</p>")
    parts += ["<h3>Permutation importance</h3>", _importances_html(source)]
    return "".join(parts)


def _curves_html(
    source: _Source, curves: pd.DataFrame | None, is_classifier: bool,
    metrics: pd.DataFrame | None,
) -> str:
    """Return the ROC, PR and calibration charts (and any other curve the table holds)."""
    if not is_classifier and curves is not None and curves.empty:
        return '<p class="meta">No curves are recorded for this regression version.</p>'
    note = _unusable(source, EVALUATION_TABLES["curves"], curves, ("curve", "split", "x", "y"))
    if curves is None or note:
        return note
    charts = []
    kinds = _ordered(curves["curve"].astype(str).unique(), ("roc", "pr", "calibration"))
    for kind in kinds:
        rows = curves[curves["curve"].astype(str) == kind]
        splits = _ordered(rows["split"].astype(str).unique(), SPLITS)
        series = [
            _Series(f"{split}", _points(rows[rows["split"].astype(str) == split]),
                    PALETTE[i % len(PALETTE)], markers=kind == "calibration")
            for i, split in enumerate(splits)
        ]
        charts.append(_curve_chart(kind, series, rows, metrics))
    return f'<div class="charts">{"".join(charts)}</div>'


def _points(rows: pd.DataFrame) -> list[tuple[float, float, str]]:
    """Return a curve's (x, y, tooltip) points in the table's order."""
    points = []
    for record in rows.to_dict("records"):
        x, y = _number(record.get("x")), _number(record.get("y"))
        if math.isnan(x) or math.isnan(y):
            continue
        tip = f"x {x:.3f}, y {y:.3f}"
        if not _is_missing(record.get("threshold")):
            tip += f", threshold {_number(record['threshold']):.3f}"
        if not _is_missing(record.get("rows")):
            tip += f", {_count(record['rows'])} rows"
        points.append((x, y, tip))
    return points


def _curve_chart(
    kind: str, series: list[_Series], rows: pd.DataFrame, metrics: pd.DataFrame | None
) -> str:
    """Return one evaluation curve's chart with its reference line."""
    unit = _Axis("", 0.0, 1.0, _ticks(0.0, 1.0))
    if kind == "roc":
        return _line_chart("ROC curve", series, _Axis("false positive rate", 0, 1, unit.ticks),
                           _Axis("true positive rate", 0, 1, unit.ticks), diagonal=True,
                           diagonal_label="random")
    if kind == "pr":
        # A classifier without skill has precision equal to the positive rate at every recall.
        refs = [
            _Ref(rate, f"{s.name} positive rate", s.colour)
            for s in series
            if not math.isnan(rate := _metric(metrics, "model", s.name, "actual_rate"))
        ]
        return _line_chart("Precision-recall curve", series, _Axis("recall", 0, 1, unit.ticks),
                           _Axis("precision", 0, 1, unit.ticks), refs=refs)
    if kind == "calibration":
        return _line_chart("Calibration", series,
                           _Axis("mean predicted probability", 0, 1, unit.ticks),
                           _Axis("observed positive rate", 0, 1, unit.ticks), diagonal=True,
                           diagonal_label="perfect calibration")
    xs = [p[0] for s in series for p in s.points]
    ys = [p[1] for s in series for p in s.points]
    return _line_chart(kind.replace("_", " "), series, _axis("x", xs), _axis("y", ys))


def _confusion_html(source: _Source) -> str:
    """Return one 2x2 confusion matrix per split, at the registered threshold."""
    frame = source.read(EVALUATION_TABLES["confusion"])
    note = _unusable(source, EVALUATION_TABLES["confusion"], frame, ("split",))
    if frame is None or note:
        return note
    tables = []
    for split in _ordered(frame["split"].astype(str).unique(), SPLITS):
        row = frame[frame["split"].astype(str) == split].iloc[0]
        counts = {k: _number(row.get(k)) for k in ("tp", "fp", "tn", "fn")}
        cell = {k: _confusion_cell(counts, k) for k in counts}
        tables.append(
            f'<table class="confusion"><caption>{_e(split)} at threshold '
            f"{_e(_num(row.get('threshold')))}</caption>"
            "<thead><tr><th></th><th>predicted positive</th><th>predicted negative</th>"
            f"</tr></thead><tbody><tr><th>actual positive</th>{cell['tp']}{cell['fn']}</tr>"
            f"<tr><th>actual negative</th>{cell['fp']}{cell['tn']}</tr></tbody></table>")
    return "".join(tables)


def _confusion_cell(counts: dict[str, float], key: str) -> str:
    """Return a confusion matrix cell: the count and its share of all rows."""
    total = sum(v for v in counts.values() if not math.isnan(v))
    share = counts[key] / total if total else math.nan
    text = _count(counts[key]) + ("" if math.isnan(share) else f" ({share:.1%})")
    return f'<td class="num">{_e(text)}</td>'


def _thresholds_html(source: _Source, registered: dict[str, Any]) -> str:
    """Return a readable subset of the threshold table with the registered threshold marked."""
    frame = source.read(EVALUATION_TABLES["thresholds"])
    note = _unusable(source, EVALUATION_TABLES["thresholds"], frame, ("threshold",))
    if frame is None or note:
        return note
    frame = frame.sort_values("threshold").reset_index(drop=True)
    registered_threshold = _number(registered.get("threshold"))
    notes = _threshold_notes(frame, registered_threshold)
    keep = sorted(set(_round_rows(frame["threshold"], MAX_THRESHOLD_ROWS)) | set(notes))
    columns = [c for c in ("threshold", "precision", "recall", "f1", "predicted_positive_rate",
                           "tp", "fp", "tn", "fn", "expected_cost", "net_value")
               if c in frame.columns and frame[c].notna().any()]
    header = "".join(f"<th>{_column_label(c)}</th>" for c in columns) + "<th>Note</th>"
    body = []
    for index in keep:
        record = frame.iloc[index]
        css = ' class="registered"' if "registered" in notes.get(index, "") else ""
        cells = "".join(f'<td class="num">{_e(_num(record[c]))}</td>' for c in columns)
        body.append(f"<tr{css}>{cells}<td>{_e(notes.get(index, ''))}</td></tr>")
    return (
        f'<p class="meta">{len(keep)} of {len(frame)} thresholds{_e(_rows_counted(frame, registered))}'
        f"; the registered threshold is {_e(_num(registered_threshold))} (the nearest row is "
        "highlighted).</p>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _threshold_notes(frame: pd.DataFrame, registered: float) -> dict[int, str]:
    """Return notes by row position: nearest the registered threshold, best F1, best value."""
    notes: dict[int, list[str]] = {}
    if not math.isnan(registered):
        nearest = int((frame["threshold"] - registered).abs().idxmin())
        notes.setdefault(nearest, []).append(f"registered threshold {_num(registered)}")
    for column, label in (("f1", "best F1"), ("net_value", "best net value")):
        if column in frame.columns and frame[column].notna().any():
            notes.setdefault(int(frame[column].idxmax()), []).append(label)
    return {index: "; ".join(texts) for index, texts in notes.items()}


def _round_rows(thresholds: pd.Series, most: int) -> list[int]:
    """Return the positions of the rows nearest round thresholds (0.05, 0.1, ...), ends kept."""
    values = thresholds.astype(float)
    if len(values) <= most:
        return list(range(len(values)))
    targets = [t for t, _ in _ticks(values.min(), values.max(), count=most)]
    nearest = {int((values - t).abs().idxmin()) for t in targets}
    return sorted(nearest | {0, len(values) - 1})


def _rows_counted(frame: pd.DataFrame, registered: dict[str, Any]) -> str:
    """Return ", counted on the 6780 valid rows" when the counts say which split they are."""
    if not {"tp", "fp", "tn", "fn"} <= set(frame.columns):
        return ""
    total = _number(frame[["tp", "fp", "tn", "fn"]].iloc[0].sum())
    splits = [s for s in SPLITS if _number(registered.get(f"{s}_rows")) == total]
    where = f" {splits[0]}" if len(splits) == 1 else ""
    return f", counted on the {_count(total)}{where} rows"


def _importances_html(source: _Source) -> str:
    """Return permutation importances as horizontal bars with a one-std whisker."""
    frame = source.read(EVALUATION_TABLES["importances"])
    note = _unusable(source, EVALUATION_TABLES["importances"], frame, ("feature", "importance_mean"))
    if frame is None or note:
        return note
    frame = frame.sort_values("importance_mean", ascending=False, kind="stable")
    shown = frame.head(MAX_IMPORTANCES)
    note = ("" if len(frame) <= MAX_IMPORTANCES
            else f" The top {MAX_IMPORTANCES} of {len(frame)} features are shown.")
    bars = [(_text(r["feature"]), _number(r["importance_mean"]),
             _number(r.get("importance_std", math.nan))) for r in shown.to_dict("records")]
    return (
        '<p class="meta">The drop in the selection metric when a feature\'s values are shuffled '
        f"(mean and one standard deviation over repeats); near zero or below means unused.{note}"
        f"</p>{_bar_chart(bars)}"
    )


# ---------------------------------------------------------------------------- monitoring


def _feature_drift_section(source: _Source) -> str:
    """Return the PSI heatmap of features x as_of dates."""
    table = source.monitoring("feature_drift")
    frame = source.read(table)
    note = _unusable(source, table, frame, (source.as_of, "feature", "psi"))
    if frame is None or note:
        return note
    dates = _sorted_unique(frame[source.as_of])
    shown = dates[-MAX_AS_OF_COLUMNS:]
    note = "" if len(shown) == len(dates) else (
        f" The latest {len(shown)} of {len(dates)} dates are shown.")
    latest = frame[frame[source.as_of] == dates[-1]]
    # Counted as the cells are coloured: by the table's status (the spec's thresholds).
    bands = pd.Series([_drift_band(r) for r in latest.to_dict("records")]).value_counts()
    by_spec = "status" in latest and latest["status"].isin(list(PSI_BANDS)).all()
    rule = "by the model's drift thresholds" if by_spec else f"PSI >= {PSI_DRIFT}"
    summary = (f"On {_when(dates[-1])}: {bands.get('drift', 0)} of {len(latest)} features drift "
               f"({rule}), {bands.get('moderate', 0)} moderate.")
    legend = "".join(
        f'<span><i class="box" style="background:{PSI_BANDS[b][0]}"></i>{_e(t)}</span>'
        for b, t in (("stable", f"stable (< {PSI_MODERATE})"),
                     ("moderate", f"moderate ({PSI_MODERATE} to {PSI_DRIFT})"),
                     ("drift", f"drift (>= {PSI_DRIFT})"), ("missing", "no value")))
    return (
        f'<p class="meta">Population stability index of each feature against the training '
        f"reference, per {_e(source.as_of)}; features with the largest PSI first. Hover a "
        f"cell for its details.{_e(note)}</p><p>{_e(summary)}</p>"
        f"{_heatmap(frame[frame[source.as_of].isin(shown)], source.as_of, shown)}"
        f'<div class="legend">{legend}</div>'
    )


def _prediction_drift_section(source: _Source) -> str:
    """Return the prediction PSI per as_of as bars, and its table."""
    table = source.monitoring("prediction_drift")
    frame = source.read(table)
    note = _unusable(source, table, frame, (source.as_of, "psi"))
    if frame is None or note:
        return note
    frame = frame.sort_values(source.as_of)
    dates = list(frame[source.as_of])
    psi = [_number(v) for v in frame["psi"]]
    tips = [f"{_when(d)}: PSI {_num(p)}" for d, p in zip(dates, psi, strict=True)]
    chart = _psi_bars(dates, psi, tips)
    columns = [c for c in (source.as_of, "psi", "status", "reference_total", "current_total")
               if c in frame.columns]
    return ('<p class="meta">Population stability index of the scores against the test '
            f"window's scores, per {_e(source.as_of)}.</p>{chart}"
            f"{_table(frame, columns)}")


def _realised_section(
    source: _Source, is_classifier: bool, metrics: pd.DataFrame | None
) -> str:
    """Return realised metrics per as_of against the test value, and their table."""
    table = source.monitoring("realised_performance")
    frame = source.read(table)
    note = _unusable(source, table, frame, (source.as_of,))
    if frame is None or note:
        return note
    frame = frame.sort_values(source.as_of)
    watched = [m for m in (("roc_auc", "pr_auc") if is_classifier else ("rmse",))
               if m in frame.columns and frame[m].notna().any()]
    series, refs = [], []
    for i, metric in enumerate(watched):
        colour = PALETTE[i % len(PALETTE)]
        series.append(_Series(metric, _dated_points(frame, source.as_of, metric), colour,
                              markers=True))
        test = _metric(metrics, "model", "test", metric)
        if not math.isnan(test):
            refs.append(_Ref(test, f"test {metric} {_num(test)}", colour))
    chart = (_dated_chart("Realised " + " and ".join(watched), series, refs, frame[source.as_of])
             if watched else "")
    columns = [source.as_of, *(c for c in REALISED_COLUMNS if c in frame.columns)]
    columns = [c for c in columns if frame[c].notna().any()]
    return ('<p class="meta">Metrics on the rows whose labels have matured, per '
            f"{_e(source.as_of)}; the dashed lines are the test values at training. The period "
            "says where the as_of falls: the version's valid or test window, or live after it."
            f"</p>{chart}{_table(frame, columns)}")


def _retrain_section(source: _Source) -> str:
    """Return the retraining signal per as_of with recommended rows highlighted."""
    table = source.monitoring("retrain_signal")
    frame = source.read(table)
    note = _unusable(source, table, frame, (source.as_of, "retrain_recommended"))
    if frame is None or note:
        return note
    frame = frame.sort_values(source.as_of)
    latest = frame.iloc[-1]
    recommended = _truthy(latest.get("retrain_recommended"))
    verdict = "retraining recommended" if recommended else "no retraining recommended"
    reasons = _text(latest.get("reasons"))
    summary = f"on {_when(latest[source.as_of])}, the latest {source.as_of}" + (
        f": {reasons}" if reasons else "")
    columns = [source.as_of, "retrain_recommended", "reasons"]
    columns += [c for c in RETRAIN_COLUMNS if c in frame.columns and frame[c].notna().any()]
    columns = [c for c in columns if c in frame.columns]
    classes = ["fail-error" if _truthy(v) else "" for v in frame.get(
        "retrain_recommended", pd.Series(False, index=frame.index))]
    return (f'<p><span class="badge {"failed" if recommended else "passed"}">'
            f"{_e(verdict)}</span> {_e(summary)}</p>{_table(frame, columns, classes)}")


def _heatmap(frame: pd.DataFrame, as_of: str, dates: list[Any]) -> str:
    """Return the SVG grid of PSI, feature rows by date columns, with a tooltip per cell."""
    worst = frame.groupby("feature")["psi"].max().sort_values(ascending=False, kind="stable")
    features = [*worst.index, *sorted(set(frame["feature"]) - set(worst.index))]
    cells = {(r["feature"], r[as_of]): r for r in frame.to_dict("records")}
    cell_w, cell_h = 62, 22
    left = 20 + _CHAR_PX * max(len(_text(f)) for f in features)
    top = 76  # room for the rotated date labels
    width = int(left + cell_w * len(dates) + 70)  # the last date label leans right
    height = int(top + cell_h * len(features) + 6)
    parts = [_svg_open(width, height, "Feature drift heatmap")]
    for j, date in enumerate(dates):
        x = left + cell_w * (j + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{top - 8}" font-size="11" text-anchor="start" '
                     f'transform="rotate(-40 {x:.1f} {top - 8})">{_e(_when(date))}</text>')
    for i, feature in enumerate(features):
        y = top + cell_h * i
        parts.append(f'<text x="{left - 8:.1f}" y="{y + cell_h / 2 + 4:.1f}" font-size="12" '
                     f'text-anchor="end">{_e(feature)}</text>')
        for j, date in enumerate(dates):
            parts.append(_heatmap_cell(cells.get((feature, date)), feature, date,
                                       left + cell_w * j, y, cell_w, cell_h))
    parts.append("</svg>")
    return f'<figure class="chart">{"".join(parts)}</figure>'


def _heatmap_cell(
    record: dict[str, Any] | None, feature: Any, date: Any, x: float, y: float, w: int, h: int
) -> str:
    """Return one heatmap cell: a coloured rectangle, the PSI, and a tooltip."""
    psi = _number(record.get("psi")) if record else math.nan
    band = _drift_band(record) if record else "missing"
    fill, ink = PSI_BANDS[band]
    tip = f"{_text(feature)} on {_when(date)}: PSI {_num(psi) or 'n/a'}"
    if record:
        extras = [f"status {_text(record.get('status'))}" if record.get("status") else "",
                  _share_text("nulls", record.get("null_share")),
                  _share_text("unseen categories", record.get("unseen_share")),
                  f"{_count(record.get('current_total'))} rows"
                  if not _is_missing(record.get("current_total")) else ""]
        tip += "".join(f"; {e}" for e in extras if e)
    label = "" if math.isnan(psi) else f"{psi:.2f}"
    return (f'<g class="cell" data-band="{band}"><title>{_e(tip)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w - 2}" height="{h - 2}" fill="{fill}" '
            f'rx="2"/><text x="{x + (w - 2) / 2:.1f}" y="{y + h / 2 + 3:.1f}" font-size="11" '
            f'text-anchor="middle" fill="{ink}">{_e(label)}</text></g>')


def _drift_band(record: dict[str, Any]) -> str:
    """Return a drift row's band: its status (the spec's own thresholds), else the usual bands."""
    status = record.get("status")
    return status if status in PSI_BANDS else _psi_band(record.get("psi"))


def _psi_band(psi: Any) -> str:
    """Return the PSI band: stable, moderate, drift, or missing."""
    value = _number(psi)
    if math.isnan(value):
        return "missing"
    return "drift" if value >= PSI_DRIFT else "moderate" if value >= PSI_MODERATE else "stable"


def _share_text(label: str, value: Any) -> str:
    """Return "nulls 1.2%" for a share, empty when it is missing or zero."""
    share = _number(value)
    return "" if math.isnan(share) or share == 0 else f"{label} {share:.1%}"


# --------------------------------------------------------------------------------- charts


@dataclass
class _Series:
    """One line of a chart: (x, y, tooltip) points, a colour and a style."""

    name: str
    points: list[tuple[float, float, str]]
    colour: str
    dashed: bool = False
    markers: bool = False
    width: float = 2.0


@dataclass
class _Ref:
    """A horizontal dashed reference line."""

    y: float
    label: str
    colour: str


@dataclass
class _Axis:
    """An axis: its label, its domain and its (value, label) ticks."""

    label: str
    lo: float
    hi: float
    ticks: list[tuple[float, str]]


@dataclass
class _Frame:
    """The plot area of a chart inside its SVG, mapping data values to pixels."""

    x: _Axis
    y: _Axis
    width: int = 440
    height: int = 320
    left: int = 58
    right: int = 16
    top: int = 30
    bottom: int = 46

    def px(self, value: float) -> float:
        """Return the SVG x of a data x."""
        span = (self.x.hi - self.x.lo) or 1.0
        return self.left + (value - self.x.lo) / span * (self.width - self.left - self.right)

    def py(self, value: float) -> float:
        """Return the SVG y of a data y."""
        span = (self.y.hi - self.y.lo) or 1.0
        return (self.height - self.bottom
                - (value - self.y.lo) / span * (self.height - self.top - self.bottom))

    def axes(self, title: str, rotate_x: bool = False) -> list[str]:
        """Return the title, grid lines, tick labels and axis labels."""
        x0, x1 = self.left, self.width - self.right
        y0, y1 = self.height - self.bottom, self.top
        parts = [f'<text x="{x0}" y="18" font-size="13" font-weight="600">{_e(title)}</text>']
        for value, label in self.y.ticks:
            y = self.py(value)
            parts.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>'
                         f'<text x="{x0 - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                         f'fill="#59636e">{_e(label)}</text>')
        for value, label in self.x.ticks:
            x = self.px(value)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y1}" stroke="#eaeef2"/>')
            if rotate_x:
                parts.append(f'<text x="{x:.1f}" y="{y0 + 14}" font-size="11" text-anchor="end" '
                             f'fill="#59636e" transform="rotate(-35 {x:.1f} {y0 + 14})">'
                             f"{_e(label)}</text>")
            else:
                parts.append(f'<text x="{x:.1f}" y="{y0 + 16}" font-size="11" '
                             f'text-anchor="middle" fill="#59636e">{_e(label)}</text>')
        parts.append(f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" '
                     'fill="none" stroke="#8c959f"/>')
        if self.x.label:
            parts.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{self.height - 6}" font-size="12" '
                         f'text-anchor="middle">{_e(self.x.label)}</text>')
        if self.y.label:
            mid = (y0 + y1) / 2
            parts.append(f'<text x="14" y="{mid:.1f}" font-size="12" text-anchor="middle" '
                         f'transform="rotate(-90 14 {mid:.1f})">{_e(self.y.label)}</text>')
        return parts


def _line_chart(
    title: str,
    series: Sequence[_Series],
    x: _Axis,
    y: _Axis,
    refs: Sequence[_Ref] = (),
    diagonal: bool = False,
    diagonal_label: str = "",
    rotate_x: bool = False,
    width: int = 420,
) -> str:
    """Return an SVG line chart with an HTML legend below it."""
    # Rotated date labels need more room below the plot; an axis label needs a line more.
    bottom = (70 if rotate_x else 30) + (16 if x.label else 0)
    frame = _Frame(x, y, width=width, height=340 if rotate_x else 320, bottom=bottom)
    parts = [_svg_open(frame.width, frame.height, title), *frame.axes(title, rotate_x)]
    if diagonal:
        parts.append(f'<line x1="{frame.px(x.lo):.1f}" y1="{frame.py(y.lo):.1f}" '
                     f'x2="{frame.px(x.hi):.1f}" y2="{frame.py(y.hi):.1f}" stroke="#8c959f" '
                     'stroke-dasharray="4 4"/>')
    for ref in refs:
        yy = frame.py(ref.y)
        parts.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{yy:.1f}" '
                     f'y2="{yy:.1f}" stroke="{ref.colour}" stroke-width="1.5" '
                     f'stroke-dasharray="6 4"><title>{_e(ref.label)}</title></line>')
    for s in series:
        parts.append(_polyline(frame, s))
    legend = [(s.name, s.colour, s.dashed) for s in series]
    legend += [(r.label, r.colour, True) for r in refs]
    if diagonal and diagonal_label:
        legend.append((diagonal_label, "#8c959f", True))
    parts.append("</svg>")
    return f'<figure class="chart">{"".join(parts)}{_legend(legend)}</figure>'


def _polyline(frame: _Frame, series: _Series) -> str:
    """Return a series as an SVG polyline, with titled markers when asked for."""
    if not series.points:
        return ""
    coords = " ".join(f"{frame.px(x):.1f},{frame.py(y):.1f}" for x, y, _ in series.points)
    dash = ' stroke-dasharray="6 4"' if series.dashed else ""
    line = (f'<polyline points="{coords}" fill="none" stroke="{series.colour}" '
            f'stroke-width="{series.width}"{dash}><title>{_e(series.name)}</title></polyline>')
    parts = [line]
    # A lone point draws no line, so it always gets a marker.
    if series.markers or len(series.points) == 1:
        parts += [f'<circle cx="{frame.px(x):.1f}" cy="{frame.py(y):.1f}" r="3.5" '
                  f'fill="{series.colour}"><title>{_e(f"{series.name}: {tip}")}</title></circle>'
                  for x, y, tip in series.points]
    return "".join(parts)


def _dated_chart(
    title: str, series: list[_Series], refs: list[_Ref], dates: pd.Series
) -> str:
    """Return a line chart over as_of dates (positions are days, labels are the dates)."""
    ys = [p[1] for s in series for p in s.points] + [r.y for r in refs]
    if not ys:
        return f'<p class="na">{_e(NOT_AVAILABLE)}: no values to chart.</p>'
    x = _date_axis(_sorted_unique(dates))
    return _line_chart(title, series, x, _axis("", ys), refs=refs, rotate_x=True, width=760)


def _dated_points(rows: pd.DataFrame, as_of: str, metric: str) -> list[tuple[float, float, str]]:
    """Return (day, value, tooltip) points of one metric over as_of dates."""
    points = []
    periods = rows["period"] if "period" in rows.columns else pd.Series("", index=rows.index)
    for date, value, period in zip(rows[as_of], rows[metric], periods, strict=True):
        number = _number(value)
        if not math.isnan(number) and not _is_missing(date):
            where = f" ({_text(period)})" if _text(period) else ""
            points.append((_day(date), number, f"{_when(date)}{where}: {_num(number)}"))
    return points


def _psi_bars(dates: list[Any], psi: list[float], tips: list[str]) -> str:
    """Return PSI per date as bars coloured by band, with the 0.1 and 0.2 lines."""
    values = [p for p in psi if not math.isnan(p)]
    y = _axis("PSI", [0.0, *values, PSI_DRIFT * 1.2])
    x = _date_axis(_sorted_unique(pd.Series(dates)))
    frame = _Frame(x, y, width=760, height=340, bottom=70)
    parts = [_svg_open(frame.width, frame.height, "Prediction drift"),
             *frame.axes("Prediction PSI", rotate_x=True)]
    bar = max(4.0, min(40.0, 0.6 * _min_gap_px(frame, dates)))
    for date, value, tip in zip(dates, psi, tips, strict=True):
        if math.isnan(value):
            continue
        top, base = frame.py(value), frame.py(0.0)
        parts.append(f'<rect x="{frame.px(_day(date)) - bar / 2:.1f}" y="{top:.1f}" '
                     f'width="{bar:.1f}" height="{max(base - top, 0.5):.1f}" '
                     f'fill="{PSI_BANDS[_psi_band(value)][0]}" stroke="#57606a" '
                     f'stroke-width="0.5"><title>{_e(tip)}</title></rect>')
    for level, colour in ((PSI_MODERATE, "#9a6700"), (PSI_DRIFT, "#cf222e")):
        yy = frame.py(level)
        parts.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{yy:.1f}" '
                     f'y2="{yy:.1f}" stroke="{colour}" stroke-dasharray="6 4"/>')
    parts.append("</svg>")
    legend = _legend([(f"moderate ({PSI_MODERATE})", "#9a6700", True),
                      (f"drift ({PSI_DRIFT})", "#cf222e", True)])
    return f'<figure class="chart">{"".join(parts)}{legend}</figure>'


def _min_gap_px(frame: _Frame, dates: list[Any]) -> float:
    """Return the smallest horizontal distance in pixels between two bars."""
    xs = sorted({frame.px(_day(d)) for d in dates if not _is_missing(d)})
    gaps = [b - a for a, b in itertools.pairwise(xs)]
    return min(gaps) if gaps else 40.0


def _bar_chart(bars: list[tuple[str, float, float]]) -> str:
    """Return horizontal bars (label, value, std) around a zero line, largest first."""
    lows = [min(v - (s if not math.isnan(s) else 0), 0.0) for _, v, s in bars if not math.isnan(v)]
    highs = [max(v + (s if not math.isnan(s) else 0), 0.0) for _, v, s in bars
             if not math.isnan(v)]
    axis = _axis("importance", [*lows, *highs, 0.0], snap=False)
    label_w = int(16 + _CHAR_PX * max(len(label) for label, _, _ in bars))
    row_h, top = 20, 12
    frame = _Frame(axis, _Axis("", 0, len(bars), []), width=label_w + 560,
                   height=top + row_h * len(bars) + 40, left=label_w, right=24, top=top,
                   bottom=40)
    parts = [_svg_open(frame.width, frame.height, "Permutation importance")]
    for value, label in axis.ticks:
        x = frame.px(value)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{frame.height - 40}" '
                     f'stroke="#eaeef2"/><text x="{x:.1f}" y="{frame.height - 24}" '
                     f'font-size="11" text-anchor="middle" fill="#59636e">{_e(label)}</text>')
    zero = frame.px(0.0)
    for i, (label, value, std) in enumerate(bars):
        y = top + row_h * i
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" font-size="12" '
                     f'text-anchor="end">{_e(label)}</text>')
        if math.isnan(value):
            continue
        x0, x1 = sorted((zero, frame.px(value)))
        colour = PALETTE[0] if value >= 0 else PALETTE[5]
        tip = f"{label}: {_num(value)}" + ("" if math.isnan(std) else f" ± {_num(std)}")
        parts.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1):.1f}" '
                     f'height="{row_h - 6}" fill="{colour}"><title>{_e(tip)}</title></rect>')
        if not math.isnan(std) and std > 0:
            a, b = frame.px(value - std), frame.px(value + std)
            parts.append(f'<line x1="{a:.1f}" x2="{b:.1f}" y1="{y + row_h / 2}" '
                         f'y2="{y + row_h / 2}" stroke="#1f2328" stroke-width="1"/>')
    parts.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top}" y2="{frame.height - 40}" '
                 'stroke="#57606a"/>')
    parts.append(f'<text x="{(frame.left + frame.width - frame.right) / 2:.1f}" '
                 f'y="{frame.height - 6}" font-size="12" text-anchor="middle">'
                 "importance (drop in the selection metric)</text></svg>")
    return f'<figure class="chart">{"".join(parts)}</figure>'


def _legend(items: Sequence[tuple[str, str, bool]]) -> str:
    """Return an HTML legend of (label, colour, dashed) line swatches."""
    spans = "".join(
        f'<span><i class="{"dashed" if dashed else ""}" style="border-color:{colour}"></i>'
        f"{_e(label)}</span>" for label, colour, dashed in items)
    return f'<figcaption class="legend">{spans}</figcaption>' if spans else ""


def _svg_open(width: int, height: int, label: str) -> str:
    """Return an opening svg tag of a fixed size with an accessible name."""
    # Inline SVG in HTML needs no xmlns; leaving it out keeps the page free of any URL.
    return (f'<svg width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}">')


def _axis(label: str, values: Sequence[float], snap: bool = True) -> _Axis:
    """Return an axis over values, widened to round tick values when ``snap``."""
    finite = [v for v in values if not math.isnan(v) and math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if hi == lo:
        pad = abs(hi) * 0.1 or 0.1
        lo, hi = lo - pad, hi + pad
    else:
        pad = (hi - lo) * 0.05
        lo, hi = (lo - pad if lo != 0 else lo), hi + pad
    ticks = _ticks(lo, hi)
    if not snap:
        return _Axis(label, lo, hi, [t for t in ticks if lo <= t[0] <= hi])
    return _Axis(label, min(lo, ticks[0][0]), max(hi, ticks[-1][0]), ticks)


def _ticks(lo: float, hi: float, count: int = 5) -> list[tuple[float, str]]:
    """Return round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten)."""
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return [(k * step, f"{k * step:.{decimals}f}") for k in range(first, last + 1)]


def _date_axis(dates: list[Any]) -> _Axis:
    """Return an x axis over dates (in days), padded by half a gap, with thinned date ticks."""
    days = [_day(d) for d in dates]
    gaps = [b - a for a, b in itertools.pairwise(days) if b > a]
    pad = (min(gaps) / 2) if gaps else 15.0
    keep = _thinned(len(dates), 14)
    ticks = [(days[i], _when(dates[i])) for i in keep]
    return _Axis("", min(days) - pad, max(days) + pad, ticks)


def _day(value: Any) -> float:
    """Return a date as days since the epoch (a plain number as is)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return pd.Timestamp(value).value / 86_400e9


# ------------------------------------------------------------------------------- helpers


def _table(frame: pd.DataFrame, columns: list[str], classes: Sequence[str] = ()) -> str:
    """Return an HTML table of some columns, numbers right-aligned, with optional row classes."""
    header = "".join(f"<th>{_column_label(c)}</th>" for c in columns)
    body = []
    for i, record in enumerate(frame[columns].to_dict("records")):
        css = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        cells = "".join(_cell(record[c]) for c in columns)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _column_label(name: str) -> str:
    """Return a column name as header HTML that may wrap after its underscores."""
    # Long snake_case names are one word to the browser; <wbr> lets a wide table fit the page.
    return _e(name).replace("_", "_<wbr>")


def _cell(value: Any) -> str:
    """Return a table cell: numbers formatted and right-aligned, dates as dates."""
    if isinstance(value, bool | np.bool_):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | float) and not _is_missing(value):
        return f'<td class="num">{_e(_num(value))}</td>'
    if isinstance(value, datetime.date):  # pd.Timestamp is one too
        return f'<td class="date">{_e(_when(value))}</td>'
    return f"<td>{_e(value)}</td>"


def _metric(metrics: pd.DataFrame | None, model: str, split: str, metric: str) -> float:
    """Return one value of the metrics table, NaN when it is not there."""
    if metrics is None or metrics.empty:
        return math.nan
    hit = metrics[(metrics["model"] == model) & (metrics["split"] == split)
                  & (metrics["metric"] == metric)]
    return _number(hit["value"].iloc[0]) if not hit.empty else math.nan


def _ordered(values: Sequence[Any], preferred: Sequence[str]) -> list[str]:
    """Return values with the preferred ones first in that order, then the rest sorted."""
    present = [str(v) for v in values]
    return [p for p in preferred if p in present] + sorted(set(present) - set(preferred))


def _sorted_unique(values: pd.Series) -> list[Any]:
    """Return the distinct non-missing values, sorted."""
    return sorted(v for v in pd.unique(values) if not _is_missing(v))


def _thinned(length: int, most: int) -> list[int]:
    """Return at most about ``most`` evenly spaced positions of a sequence, ends included."""
    if length <= most:
        return list(range(length))
    step = math.ceil((length - 1) / (most - 1))
    return sorted({*range(0, length, step), length - 1})


def _num(value: Any) -> str:
    """Return a number with 4 significant digits (thousands separated), integers as integers."""
    number = _number(value)
    if math.isnan(number):
        return ""
    if number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}" if abs(number) >= 1e4 else str(int(number))
    if abs(number) >= 1e4:
        return f"{number:,.0f}"
    return f"{number:.4g}"


def _count(value: Any) -> str:
    """Return a row count with thousands separated."""
    number = _number(value)
    return "" if math.isnan(number) else f"{number:,.0f}"


def _when(value: Any) -> str:
    """Return a date or timestamp as ISO text, midnight timestamps as dates."""
    if _is_missing(value):
        return ""
    if isinstance(value, int | float | str):  # not a date: pd.Timestamp would read it as one
        return _text(value)
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return _text(value)
    if stamp == stamp.normalize():
        return stamp.strftime("%Y-%m-%d")
    return stamp.strftime("%Y-%m-%d %H:%M:%S")
