"""A static HTML page of one model version: what it is, how it did, and how it is holding up.

The page reads the warehouse tables the dbt project builds (the registry, the evaluation tables and
a model's monitoring tables) and is one self-contained file: plain HTML, a ``<style>`` element and
inline SVG charts drawn here, with no scripts, fonts or images. It renders offline and can be
attached to a ticket or served from a bucket as is. A table that does not exist yet, has no
rows for the version or lacks a column the page reads gives its section a "not available yet"
note instead of an error: the monitoring tables arrive later than the registry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from mlmodels.files import write_text_atomic
from mlmodels.reports.html import (
    BASE_CSS,
    as_text,
    escape,
    fmt,
    is_missing,
    page_head,
    truthy,
    when_text,
)
from mlmodels.reports.model_comparison import segments_section, versions_section
from mlmodels.reports.model_data import (
    EVALUATION_TABLES,
    METRIC_COLUMNS,
    SPLITS,
    Source,
    resolve,
    unusable,
)
from mlmodels.reports.model_diagnostics import candidates_section, gains_section
from mlmodels.reports.model_evaluation import evaluation_section, metric_kind, metrics_section
from mlmodels.reports.model_monitoring import (
    feature_drift_section,
    prediction_drift_section,
    realised_section,
    retrain_section,
)
from mlmodels.spec.specs import HIGHER_IS_BETTER

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
    source, registered = resolve(con, model_name, version, as_of_column, schema)
    path = Path(out_dir) / model_name / f"{source.version}.html"
    write_text_atomic(path, _page(source, registered), mode=0o644)
    return path


def render_model_report(
    con: duckdb.DuckDBPyConnection,
    model_name: str,
    version: str | None = None,
    as_of_column: str = "as_of_date",
    schema: str = "main",
) -> str:
    """Return the HTML text of the page :func:`write_model_report` writes."""
    return _page(*resolve(con, model_name, version, as_of_column, schema))


def _page(source: Source, registered: dict[str, Any]) -> str:
    """Return the whole page of a version."""
    title = f"Model report: {source.model_name} {source.version}"
    is_classifier = as_text(registered.get("task")) != "regression"
    metrics = source.read(EVALUATION_TABLES["metrics"])
    usable = None if unusable(source, "", metrics, METRIC_COLUMNS) else metrics
    sections = [
        ("evaluation-metrics", "Metrics against the baselines", metrics_section(
            source, metrics, registered)),
        ("evaluation-curves", "Evaluation", evaluation_section(
            source, registered, is_classifier, usable)),
        ("gains", "Lift and gain by decile" if is_classifier else "Predicted against actual",
         gains_section(source, is_classifier)),
        ("segments", "Metrics by segment", segments_section(source, registered, is_classifier)),
        ("versions", "Versions compared", versions_section(source, registered, is_classifier)),
        ("candidates", "Candidates and learning curve", candidates_section(source, registered)),
        ("feature-drift", "Feature drift", feature_drift_section(source)),
        ("prediction-drift", "Prediction drift", prediction_drift_section(source)),
        ("realised-performance", "Realised performance", realised_section(
            source, is_classifier, usable)),
        ("retrain-signal", "Retraining signal", retrain_section(source)),
    ]
    toc = "".join(f'<a href="#{anchor}">{escape(heading)}</a>' for anchor, heading, _ in sections)
    parts = [
        *page_head(title, BASE_CSS + _MODEL_CSS),
        "<body>",
        _header(source, registered),
        f'<nav class="toc">{toc}</nav>',
    ]
    parts += [f'<h2 id="{anchor}">{escape(heading)}</h2>{body}' for anchor, heading, body in sections]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _header(source: Source, row: dict[str, Any]) -> str:
    """Return the title, the status line and the version's registry facts and data windows."""
    status = as_text(row.get("status")) or "unknown"
    badge = status if status in {"champion", "challenger", "rejected", "retired"} else "unknown"
    facts = [
        ("Task", escape(row.get("task"))),
        ("Estimator", f"<code>{escape(row.get('estimator'))}</code>"),
        ("Parameters", f"<code>{escape(_params_text(row.get('params')))}</code>"),
        ("Threshold", escape(fmt(row.get("threshold")))),
        ("Selection metric", escape(_selection_text(row))),
        ("Success criterion", escape(_success_text(row))),
        ("Features", escape(_features_text(row))),
        ("Trained at", escape(when_text(row.get("trained_at")))),
        ("Promoted at", escape(when_text(row.get("promoted_at")))),
        ("Split strategy", escape(row.get("split_strategy"))),
    ]
    facts_html = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in facts if v)
    windows = []
    for split in (*SPLITS, "fit"):
        cells = [row.get(f"{split}_from"), row.get(f"{split}_to"), row.get(f"{split}_rows")]
        if all(is_missing(c) for c in cells):
            continue
        windows.append(
            f"<tr><td>{escape(split)}</td><td>{escape(when_text(cells[0]))}</td><td>{escape(when_text(cells[1]))}</td>"
            f'<td class="num">{escape(fmt(cells[2], "count"))}</td></tr>')
    windows_html = (
        "<h3>Data windows</h3><table class=\"narrow\"><thead><tr><th>Split</th><th>From</th>"
        f"<th>To</th><th>Rows</th></tr></thead><tbody>{''.join(windows)}</tbody></table>"
        if windows else "")
    return (
        f"<h1>Model report: {escape(source.model_name)}</h1>"
        f'<p class="meta">version <code>{escape(source.version)}</code> '
        f'<span class="badge {badge}">{escape(status)}</span> '
        f"trained at {escape(when_text(row.get('trained_at')))}; tables from schema "
        f"<code>{escape(source.schema)}</code></p>"
        f"<p><strong>Status reason:</strong> {escape(row.get('reason')) or '(none recorded)'}</p>"
        f'<table class="kv"><tbody>{facts_html}</tbody></table>{windows_html}'
    )


def _params_text(value: Any) -> str:
    """Return estimator parameters as "name=value, ..." (JSON text is parsed)."""
    text = "" if is_missing(value) else str(value)
    try:
        params = json.loads(text)
    except ValueError:
        return text
    if not isinstance(params, dict):
        return text
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(params.items())) or "(defaults)"


def _selection_text(row: dict[str, Any]) -> str:
    """Return "pr_auc: test 0.6202, valid 0.5454, train 0.6124" from the registry row."""
    metric = as_text(row.get("selection_metric"))
    if not metric:
        return ""
    kind = metric_kind(metric)
    scores = [f"{s} {fmt(row.get(f'{s}_score'), kind)}" for s in ("test", "valid", "train")
              if not is_missing(row.get(f"{s}_score"))]
    return f"{metric}: " + ", ".join(scores) if scores else metric


def _success_text(row: dict[str, Any]) -> str:
    """Return "recall >= 0.5: 0.8875 (met)" from the registry row."""
    metric = as_text(row.get("success_metric"))
    if not metric:
        return ""
    sign = ">=" if HIGHER_IS_BETTER.get(metric, True) else "<="
    met = row.get("met_criterion")
    verdict = "" if is_missing(met) else " (met)" if truthy(met) else " (not met)"
    kind = metric_kind(metric)
    return (f"{metric} {sign} {fmt(row.get('success_target'), kind)}: "
            f"{fmt(row.get('success_value'), kind)}{verdict}")


def _features_text(row: dict[str, Any]) -> str:
    """Return "19 numeric, 3 categorical" from the registry's JSON feature lists."""
    counts = []
    for kind in ("numeric", "categorical"):
        try:
            value = row.get(f"{kind}_features")
            names = json.loads("[]" if is_missing(value) else str(value))
        except ValueError:
            continue
        if isinstance(names, list):
            counts.append(f"{len(names)} {kind}")
    return ", ".join(counts)
