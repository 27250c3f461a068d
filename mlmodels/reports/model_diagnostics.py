"""The model page's diagnostics of the test split: lift and gain, residuals, candidates.

Lift and cumulative gain by decile of score (classifiers) or predicted against actual and the
residuals by decile of prediction (regression), then every candidate configuration searched and
the learning curve of the selected one: the evaluation tables written at training.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mlmodels.reports.html import as_number, as_text, escape, fmt, html_table
from mlmodels.reports.model_data import Source, unusable
from mlmodels.reports.svg import PALETTE, Axis, Ref, Series, line_chart, tick_marks, value_axis
from mlmodels.spec.specs import HIGHER_IS_BETTER

DIAGNOSTIC_TABLES = {
    "lift": "ml_evaluation__lift",
    "residuals": "ml_evaluation__residuals",
    "candidates": "ml_evaluation__candidates",
    "learning_curve": "ml_evaluation__learning_curve",
}


# --------------------------------------------------------------------------- gains and residuals


def gains_section(source: Source, is_classifier: bool) -> str:
    """Return lift and cumulative gain by decile (classifiers) or residuals by decile."""
    if is_classifier:
        return _lift_html(source)
    return _residuals_html(source)


def _read_sorted(source: Source, key: str, columns: tuple[str, ...],
                 by: str) -> tuple[Any, str]:
    """Return a diagnostic table's rows sorted by ``by`` and "", or None and its note."""
    table = DIAGNOSTIC_TABLES[key]
    frame = source.read(table)
    note = unusable(source, table, frame, columns)
    if frame is None or note:
        return None, note
    return frame.sort_values(by), ""


def _lift_html(source: Source) -> str:
    """Return the lift table and the cumulative gain and lift charts of the test split."""
    frame, note = _read_sorted(source, "lift", ("decile", "rows", "positives", "cumulative_gain"), "decile")
    if note:
        return note
    rows = frame["rows"].astype(float)
    contacted = (rows.cumsum() / rows.sum()).tolist()
    gain = [as_number(v) for v in frame["cumulative_gain"]]
    tips = [f"top {fmt(c, 'rate')} of rows: {fmt(g, 'rate')} of positives"
            for c, g in zip(contacted, gain, strict=True)]
    unit = Axis("", 0, 1, tick_marks(0.0, 1.0))
    gain_chart = line_chart(
        "Cumulative gain", [Series("model", [(0.0, 0.0, "none contacted"),
                                             *zip(contacted, gain, tips, strict=True)],
                                   PALETTE[0], markers=True)],
        Axis("share of test rows, highest scores first", 0, 1, unit.ticks),
        Axis("share of positives captured", 0, 1, unit.ticks), diagonal=True,
        diagonal_label="random")
    lifts = [as_number(v) for v in frame["lift"]]
    deciles = [int(d) for d in frame["decile"]]
    lift_chart = line_chart(
        "Lift by decile", [Series("lift", [(d, v, f"decile {d}: lift {fmt(v, 'ratio')}")
                                           for d, v in zip(deciles, lifts, strict=True)],
                                  PALETTE[1], markers=True)],
        Axis("decile (1 = highest scores)", 0.5, len(deciles) + 0.5,
             [(d, str(d)) for d in deciles]),
        value_axis("lift over the base rate", [0.0, *lifts]),
        refs=[Ref(1.0, "base rate (lift 1)", "#8c959f")])
    columns = [c for c in ("decile", "rows", "positives", "positive_rate", "lift",
                           "cumulative_positives", "cumulative_gain", "cumulative_lift",
                           "min_score", "max_score") if c in frame.columns]
    base = frame["positives"].sum() / rows.sum() if rows.sum() else math.nan
    return (
        '<p class="meta">The test rows in ten equal parts by score, highest first (split '
        f"{escape(_splits(frame))}): the positive rate of each against the base rate "
        f"{escape(fmt(base, 'rate'))} (lift), and the share of all positives found by "
        "contacting the top deciles (cumulative gain).</p>"
        f'<div class="charts">{gain_chart}{lift_chart}</div>{html_table(frame, columns)}'
    )


def _residuals_html(source: Source) -> str:
    """Return predicted against actual by decile of prediction and the residuals."""
    frame, note = _read_sorted(source, "residuals", ("decile", "mean_prediction", "mean_actual"), "decile")
    if note:
        return note
    predicted = [as_number(v) for v in frame["mean_prediction"]]
    actual = [as_number(v) for v in frame["mean_actual"]]
    deciles = [int(d) for d in frame["decile"]]
    span = value_axis("", [*predicted, *actual, 0.0])
    scatter = line_chart(
        "Predicted against actual", [Series(
            "decile means", [(p, a, f"decile {d}: predicted {fmt(p, 'value')}, "
                                    + f"actual {fmt(a, 'value')}")
                             for d, p, a in zip(deciles, predicted, actual, strict=True)],
            PALETTE[0], markers=True)],
        Axis("mean prediction", span.lo, span.hi, span.ticks),
        Axis("mean actual", span.lo, span.hi, span.ticks), diagonal=True,
        diagonal_label="perfect")
    residual = [as_number(v) for v in frame["mean_residual"]]
    residual_chart = line_chart(
        "Residual by decile", [Series(
            "mean residual", [(d, r, f"decile {d}: actual - predicted {fmt(r, 'value')}")
                              for d, r in zip(deciles, residual, strict=True)],
            PALETTE[1], markers=True)],
        Axis("decile of prediction (1 = lowest)", 0.5, len(deciles) + 0.5,
             [(d, str(d)) for d in deciles]),
        value_axis("mean actual - predicted", [0.0, *residual]),
        refs=[Ref(0.0, "no bias", "#8c959f")])
    columns = [c for c in ("decile", "rows", "min_prediction", "max_prediction",
                           "mean_prediction", "mean_actual", "mean_residual", "rmse", "mae")
               if c in frame.columns]
    return (
        '<p class="meta">The test rows in ten equal parts by prediction, lowest first (split '
        f"{escape(_splits(frame))}): mean prediction against mean actual (on the diagonal when "
        "unbiased) and the mean residual, actual minus predicted (above zero: the model "
        "predicts too little there).</p>"
        f'<div class="charts">{scatter}{residual_chart}</div>'
        f"{html_table(frame, columns, is_classifier=False)}"
    )


def _splits(frame: pd.DataFrame) -> str:
    """Return the split(s) a table's rows are from."""
    if "split" not in frame.columns:
        return "test"
    return ", ".join(sorted({as_text(s) for s in frame["split"] if as_text(s)})) or "test"


# --------------------------------------------------------------------------- candidates


def candidates_section(source: Source, registered: dict[str, Any]) -> str:
    """Return every candidate configuration tried and the learning curve of the selected one."""
    metric = as_text(registered.get("selection_metric")) or "the selection metric"
    kind = "value" if metric in {"rmse", "mae"} else "score"
    table = DIAGNOSTIC_TABLES["candidates"]
    frame = source.read(table)
    note = unusable(source, table, frame, ("candidate", "cv_mean"))
    parts = ["<h3>Candidates</h3>"]
    if frame is None or note:
        parts.append(note)
    else:
        higher = HIGHER_IS_BETTER.get(metric, True)
        frame = frame.sort_values("cv_mean", ascending=not higher, kind="stable")
        columns = [c for c in ("candidate", "params", "cv_mean", "cv_std", "valid_score",
                               "fit_seconds", "latency_ms_per_1000", "artifact_mb",
                               "meets_constraints", "selected") if c in frame.columns]
        selected = frame.get("selected", pd.Series(False, index=frame.index)).fillna(False)
        classes = ["registered" if bool(s) else "" for s in selected]
        kinds = {c: kind for c in ("cv_mean", "cv_std", "valid_score")}
        kinds |= {c: "value" for c in ("fit_seconds", "latency_ms_per_1000", "artifact_mb")}
        parts.append(
            f'<p class="meta">Every estimator and parameter set searched, best mean '
            f"{escape(metric)} over the time-ordered CV folds first; valid_score is on valid "
            "for each estimator's best set; the selected configuration is highlighted.</p>"
            + html_table(frame, columns, classes, kinds=kinds))
    parts.append("<h3>Learning curve</h3>")
    parts.append(_learning_curve_html(source, metric, kind))
    return "".join(parts)


def _learning_curve_html(source: Source, metric: str, kind: str) -> str:
    """Return the train and valid score against the rows fitted on, chart and table."""
    frame, note = _read_sorted(source, "learning_curve", ("train_rows", "train_score", "valid_score"), "train_rows")
    if note:
        return note
    sizes = [as_number(v) for v in frame["train_rows"]]
    series = []
    for i, column in enumerate(("train_score", "valid_score")):
        values = [as_number(v) for v in frame[column]]
        series.append(Series(column.replace("_score", ""), [
            (n, v, f"{fmt(n, 'count')} rows: {column} {fmt(v, kind)}")
            for n, v in zip(sizes, values, strict=True) if not math.isnan(v)],
            PALETTE[i], markers=True))
    ys = [p[1] for s in series for p in s.points]
    chart = line_chart(f"Learning curve ({metric})", series,
                       value_axis("rows fitted on (most recent of train)", [0.0, *sizes]),
                       value_axis(metric, ys))
    kinds = {"train_score": kind, "valid_score": kind}
    return ('<p class="meta">The selected configuration fitted on the most recent 20%, 50% and '
            f"100% of train, scored on those rows and on valid ({escape(metric)}). A valid "
            "score still improving at 100% says more history would help; a wide gap to train "
            f"says it overfits.</p>{chart}"
            + html_table(frame, ["train_rows", "train_score", "valid_score"], kinds=kinds))
