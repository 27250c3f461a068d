"""The model page's evaluation sections: metrics, curves, confusion, thresholds, importances."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mlmodels.reports.html import (
    as_number,
    as_text,
    column_label,
    escape,
    fmt,
    in_preferred_order,
    is_missing,
    kind_of,
)
from mlmodels.reports.model_data import (
    BASELINES,
    EVALUATION_TABLES,
    METRIC_COLUMNS,
    SPLITS,
    Source,
    metric_value,
    unusable,
)
from mlmodels.reports.svg import (
    PALETTE,
    Axis,
    Ref,
    Series,
    bar_chart,
    line_chart,
    tick_marks,
    value_axis,
)
from mlmodels.spec.specs import HIGHER_IS_BETTER, TASK_METRICS

MAX_IMPORTANCES = 30

MAX_THRESHOLD_ROWS = 20


def metrics_section(
    source: Source, metrics: pd.DataFrame | None, registered: dict[str, Any]
) -> str:
    """Return the table of split x metric with the model beside each baseline."""
    note = unusable(source, EVALUATION_TABLES["metrics"], metrics, METRIC_COLUMNS)
    if metrics is None or note:
        return note
    models = in_preferred_order(metrics["model"].astype(str).unique(), ("model", *BASELINES))
    baselines = [m for m in models if m != "model"]
    task = as_text(registered.get("task"))
    metric_order = in_preferred_order(metrics["metric"].astype(str).unique(), TASK_METRICS.get(task, ()))
    values = {(str(r.split), str(r.metric), str(r.model)): as_number(r.value)
              for r in metrics.itertuples(index=False)}
    selected = as_text(registered.get("selection_metric"))
    header = ("<tr><th>Split</th><th>Metric</th>"
              + "".join(f"<th>{escape(m)}</th>" for m in models)
              + "<th>Model vs best baseline</th></tr>")
    body = []
    for split in in_preferred_order(metrics["split"].astype(str).unique(), SPLITS):
        present = [m for m in metric_order if any((split, m, k) in values for k in models)]
        for i, metric in enumerate(present):
            kind = metric_kind(metric)
            cells = [f'<td class="num">{escape(fmt(values.get((split, metric, m)), kind))}</td>'
                     for m in models]
            first = (f'<td rowspan="{len(present)}">{escape(split)}</td>' if i == 0 else "")
            delta = _versus_baselines(values, split, metric, baselines)
            row_class = ' class="selected"' if metric == selected else ""
            body.append(f"<tr{row_class}>{first}<td>{escape(metric)}</td>{''.join(cells)}{delta}</tr>")
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
    return f'<td class="{css}">{escape(fmt(delta, metric_kind(metric), signed=True))}</td>'


def metric_kind(metric: str) -> str:
    """Return how a metric's value prints: rates as %, errors in the target's unit, else score."""
    if metric in {"rmse", "mae"} or metric.startswith("mean_"):
        return "value"
    return kind_of(metric)


def evaluation_section(
    source: Source, registered: dict[str, Any], is_classifier: bool,
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
    source: Source, curves: pd.DataFrame | None, is_classifier: bool,
    metrics: pd.DataFrame | None,
) -> str:
    """Return the ROC, PR and calibration charts (and any other curve the table holds)."""
    if not is_classifier and curves is not None and curves.empty:
        return ('<p class="meta">ROC, precision-recall and calibration curves are for '
                "classifiers: see predicted against actual and the residuals by decile below."
                "</p>")
    note = unusable(source, EVALUATION_TABLES["curves"], curves, ("curve", "split", "x", "y"))
    if curves is None or note:
        return note
    charts = []
    kinds = in_preferred_order(curves["curve"].astype(str).unique(), ("roc", "pr", "calibration"))
    for kind in kinds:
        rows = curves[curves["curve"].astype(str) == kind]
        splits = in_preferred_order(rows["split"].astype(str).unique(), SPLITS)
        series = [
            Series(f"{split}", _points(rows[rows["split"].astype(str) == split]),
                    PALETTE[i % len(PALETTE)], markers=kind == "calibration")
            for i, split in enumerate(splits)
        ]
        charts.append(_curve_chart(kind, series, rows, metrics))
    return f'<div class="charts">{"".join(charts)}</div>'


def _points(rows: pd.DataFrame) -> list[tuple[float, float, str]]:
    """Return a curve's (x, y, tooltip) points in the table's order."""
    points = []
    for record in rows.to_dict("records"):
        x, y = as_number(record.get("x")), as_number(record.get("y"))
        if math.isnan(x) or math.isnan(y):
            continue
        tip = f"x {x:.3f}, y {y:.3f}"
        if not is_missing(record.get("threshold")):
            tip += f", threshold {as_number(record['threshold']):.3f}"
        if not is_missing(record.get("rows")):
            tip += f", {fmt(record['rows'], 'count')} rows"
        points.append((x, y, tip))
    return points


def _curve_chart(
    kind: str, series: list[Series], rows: pd.DataFrame, metrics: pd.DataFrame | None
) -> str:
    """Return one evaluation curve's chart with its reference line."""
    unit = Axis("", 0.0, 1.0, tick_marks(0.0, 1.0))
    if kind == "roc":
        return line_chart("ROC curve", series, Axis("false positive rate", 0, 1, unit.ticks),
                           Axis("true positive rate", 0, 1, unit.ticks), diagonal=True,
                           diagonal_label="random")
    if kind == "pr":
        # A classifier without skill has precision equal to the positive rate at every recall.
        refs = [
            Ref(rate, f"{s.name} positive rate", s.colour)
            for s in series
            if not math.isnan(rate := metric_value(metrics, "model", s.name, "actual_rate"))
        ]
        return line_chart("Precision-recall curve", series, Axis("recall", 0, 1, unit.ticks),
                           Axis("precision", 0, 1, unit.ticks), refs=refs)
    if kind == "calibration":
        return line_chart("Calibration", series,
                           Axis("mean predicted probability", 0, 1, unit.ticks),
                           Axis("observed positive rate", 0, 1, unit.ticks), diagonal=True,
                           diagonal_label="perfect calibration")
    xs = [p[0] for s in series for p in s.points]
    ys = [p[1] for s in series for p in s.points]
    return line_chart(kind.replace("_", " "), series, value_axis("x", xs), value_axis("y", ys))


def _confusion_html(source: Source) -> str:
    """Return one 2x2 confusion matrix per split, at the registered threshold."""
    frame = source.read(EVALUATION_TABLES["confusion"])
    note = unusable(source, EVALUATION_TABLES["confusion"], frame, ("split",))
    if frame is None or note:
        return note
    tables = []
    for split in in_preferred_order(frame["split"].astype(str).unique(), SPLITS):
        row = frame[frame["split"].astype(str) == split].iloc[0]
        counts = {k: as_number(row.get(k)) for k in ("tp", "fp", "tn", "fn")}
        cell = {k: _confusion_cell(counts, k) for k in counts}
        tables.append(
            f'<table class="confusion"><caption>{escape(split)} at threshold '
            f"{escape(fmt(row.get('threshold')))}</caption>"
            "<thead><tr><th></th><th>predicted positive</th><th>predicted negative</th>"
            f"</tr></thead><tbody><tr><th>actual positive</th>{cell['tp']}{cell['fn']}</tr>"
            f"<tr><th>actual negative</th>{cell['fp']}{cell['tn']}</tr></tbody></table>")
    return "".join(tables)


def _confusion_cell(counts: dict[str, float], key: str) -> str:
    """Return a confusion matrix cell: the count and its share of all rows."""
    total = sum(v for v in counts.values() if not math.isnan(v))
    share = counts[key] / total if total else math.nan
    text = fmt(counts[key], "count") + ("" if math.isnan(share) else f" ({fmt(share, 'rate')})")
    return f'<td class="num">{escape(text)}</td>'


def _thresholds_html(source: Source, registered: dict[str, Any]) -> str:
    """Return a readable subset of the threshold table with the registered threshold marked."""
    frame = source.read(EVALUATION_TABLES["thresholds"])
    note = unusable(source, EVALUATION_TABLES["thresholds"], frame, ("threshold",))
    if frame is None or note:
        return note
    frame = frame.sort_values("threshold").reset_index(drop=True)
    registered_threshold = as_number(registered.get("threshold"))
    notes = _threshold_notes(frame, registered_threshold)
    chosen = _chosen_threshold(frame)
    keep = sorted(set(_round_rows(frame["threshold"], MAX_THRESHOLD_ROWS)) | set(notes))
    columns = [c for c in ("threshold", "precision", "recall", "f1", "predicted_positive_rate",
                           "tp", "fp", "tn", "fn", "expected_cost", "net_value")
               if c in frame.columns and frame[c].notna().any()]
    header = "".join(f"<th>{column_label(c)}</th>" for c in columns) + "<th>Note</th>"
    body = []
    for index in keep:
        record = frame.iloc[index]
        css = ' class="registered"' if "registered" in notes.get(index, "") else ""
        cells = "".join(f'<td class="num">{escape(fmt(record[c], kind_of(c)))}</td>'
                        for c in columns)
        body.append(f"<tr{css}>{cells}<td>{escape(notes.get(index, ''))}</td></tr>")
    return (
        f'<p class="meta">{len(keep)} of {len(frame)} thresholds{escape(_rows_counted(frame, registered))}'
        f"; the registered threshold is {escape(fmt(registered_threshold))} (the nearest row is "
        f"highlighted).</p>{chosen}"
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _chosen_threshold(frame: pd.DataFrame) -> str:
    """Return which threshold the spec's policy chose and why (versions that recorded it)."""
    if "is_chosen" not in frame.columns or "reason" not in frame.columns:
        return ""
    chosen = frame[frame["is_chosen"].fillna(False).astype(bool)]
    if chosen.empty:
        return ""
    row = chosen.iloc[0]
    return (f'<p class="meta">The spec chose {escape(fmt(row["threshold"]))} when '
            f"the model fitted on train was evaluated: {escape(as_text(row['reason']))}. A refitted "
            "deployed model registers its own threshold, the one that flags the same share of "
            "the test rows.</p>")


def _threshold_notes(frame: pd.DataFrame, registered: float) -> dict[int, str]:
    """Return notes by row position: nearest the registered threshold, best F1, best value."""
    notes: dict[int, list[str]] = {}
    if not math.isnan(registered):
        nearest = int((frame["threshold"] - registered).abs().idxmin())
        notes.setdefault(nearest, []).append(f"registered threshold {fmt(registered)}")
    if "is_chosen" in frame.columns:
        for index in frame.index[frame["is_chosen"].fillna(False).astype(bool)]:
            notes.setdefault(int(index), []).append("chosen by the spec's policy")
    for column, label in (("f1", "best F1"), ("net_value", "best net value")):
        if column in frame.columns and frame[column].notna().any():
            notes.setdefault(int(frame[column].idxmax()), []).append(label)
    return {index: "; ".join(texts) for index, texts in notes.items()}


def _round_rows(thresholds: pd.Series, most: int) -> list[int]:
    """Return the positions of the rows nearest round thresholds (0.05, 0.1, ...), ends kept."""
    values = thresholds.astype(float)
    if len(values) <= most:
        return list(range(len(values)))
    targets = [t for t, _ in tick_marks(values.min(), values.max(), count=most)]
    nearest = {int((values - t).abs().idxmin()) for t in targets}
    return sorted(nearest | {0, len(values) - 1})


def _rows_counted(frame: pd.DataFrame, registered: dict[str, Any]) -> str:
    """Return ", counted on the 6780 valid rows" when the counts say which split they are."""
    if not {"tp", "fp", "tn", "fn"} <= set(frame.columns):
        return ""
    total = as_number(frame[["tp", "fp", "tn", "fn"]].iloc[0].sum())
    splits = [s for s in SPLITS if as_number(registered.get(f"{s}_rows")) == total]
    where = f" {splits[0]}" if len(splits) == 1 else ""
    return f", counted on the {fmt(total, 'count')}{where} rows"


def _importances_html(source: Source) -> str:
    """Return permutation importances as horizontal bars with a one-std whisker."""
    frame = source.read(EVALUATION_TABLES["importances"])
    note = unusable(source, EVALUATION_TABLES["importances"], frame, ("feature", "importance_mean"))
    if frame is None or note:
        return note
    frame = frame.sort_values("importance_mean", ascending=False, kind="stable")
    shown = frame.head(MAX_IMPORTANCES)
    note = ("" if len(frame) <= MAX_IMPORTANCES
            else f" The top {MAX_IMPORTANCES} of {len(frame)} features are shown.")
    bars = [(as_text(r["feature"]), as_number(r["importance_mean"]),
             as_number(r.get("importance_std", math.nan))) for r in shown.to_dict("records")]
    return (
        '<p class="meta">The drop in the selection metric when a feature\'s values are shuffled '
        f"(mean and one standard deviation over repeats); near zero or below means unused.{note}"
        f"</p>{bar_chart(bars)}"
    )
