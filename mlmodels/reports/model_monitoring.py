"""The model page's monitoring sections: drift, realised performance, the retrain signal."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pandas as pd

from mlmodels.reports.html import (
    as_number,
    as_text,
    escape,
    fmt,
    html_table,
    is_missing,
    kind_of,
    sorted_unique,
    truthy,
    when_text,
)
from mlmodels.reports.model_data import (
    REALISED_COLUMNS,
    RETRAIN_COLUMNS,
    Source,
    metric_value,
    monitoring_frame,
)
from mlmodels.reports.svg import (
    CHAR_PX,
    PALETTE,
    Frame,
    Ref,
    Series,
    date_axis,
    dated_chart,
    dated_points,
    day_number,
    legend_html,
    svg_open,
    value_axis,
)
from mlmodels.spec.specs import PSI_DRIFT, PSI_MODERATE

PSI_BANDS = {"stable": ("#a7e3b4", "#0b3d17"), "moderate": ("#f5c451", "#3d2c00"),
             "drift": ("#e5534b", "#ffffff"), "missing": ("#eaeef2", "#59636e")}

MAX_AS_OF_COLUMNS = 36


def feature_drift_section(source: Source) -> str:
    """Return the PSI heatmap of features x as_of dates."""
    frame, note = monitoring_frame(source, "feature_drift", (source.as_of, "feature", "psi"))
    if frame is None:
        return note
    dates = sorted_unique(frame[source.as_of])
    shown = dates[-MAX_AS_OF_COLUMNS:]
    note = "" if len(shown) == len(dates) else (
        f" The latest {len(shown)} of {len(dates)} dates are shown.")
    latest = frame[frame[source.as_of] == dates[-1]]
    # Counted as the cells are coloured: by the table's status (the spec's thresholds).
    bands = pd.Series([_drift_band(r) for r in latest.to_dict("records")]).value_counts()
    by_spec = "status" in latest and latest["status"].isin(list(PSI_BANDS)).all()
    rule = "by the model's drift thresholds" if by_spec else f"PSI >= {PSI_DRIFT}"
    summary = (f"On {when_text(dates[-1])}: {bands.get('drift', 0)} of {len(latest)} features drift "
               f"({rule}), {bands.get('moderate', 0)} moderate.")
    legend = "".join(
        f'<span><i class="box" style="background:{PSI_BANDS[b][0]}"></i>{escape(t)}</span>'
        for b, t in (("stable", f"stable (< {PSI_MODERATE})"),
                     ("moderate", f"moderate ({PSI_MODERATE} to {PSI_DRIFT})"),
                     ("drift", f"drift (>= {PSI_DRIFT})"), ("missing", "no value")))
    return (
        f'<p class="meta">Population stability index of each feature against the training '
        f"reference, per {escape(source.as_of)}; features with the largest PSI first. Hover a "
        f"cell for its details.{escape(note)}</p><p>{escape(summary)}</p>"
        f"{_heatmap(frame[frame[source.as_of].isin(shown)], source.as_of, shown)}"
        f'<div class="legend">{legend}</div>'
    )


def prediction_drift_section(source: Source) -> str:
    """Return the prediction PSI per as_of as bars, and its table."""
    frame, note = monitoring_frame(source, "prediction_drift", (source.as_of, "psi"))
    if frame is None:
        return note
    dates = list(frame[source.as_of])
    psi = [as_number(v) for v in frame["psi"]]
    tips = [f"{when_text(d)}: PSI {fmt(p)}" for d, p in zip(dates, psi, strict=True)]
    chart = _psi_bars(dates, psi, tips)
    columns = [c for c in (source.as_of, "psi", "status", "reference_total", "current_total")
               if c in frame.columns]
    return ('<p class="meta">Population stability index of the scores against the test '
            f"window's scores, per {escape(source.as_of)}.</p>{chart}"
            f"{html_table(frame, columns)}")


def realised_section(
    source: Source, is_classifier: bool, metrics: pd.DataFrame | None
) -> str:
    """Return realised metrics per as_of against the test value, and their table."""
    frame, note = monitoring_frame(source, "realised_performance", (source.as_of,))
    if frame is None:
        return note
    watched = [m for m in (("roc_auc", "pr_auc") if is_classifier else ("rmse",))
               if m in frame.columns and frame[m].notna().any()]
    series, refs = [], []
    for i, metric in enumerate(watched):
        colour = PALETTE[i % len(PALETTE)]
        points = dated_points(frame, source.as_of, metric, kind_of(metric, is_classifier))
        series.append(Series(metric, points, colour,
                              markers=True))
        test = metric_value(metrics, "model", "test", metric)
        if not math.isnan(test):
            refs.append(Ref(test, f"test {metric} {fmt(test, kind_of(metric, is_classifier))}",
                            colour))
    chart = (dated_chart("Realised " + " and ".join(watched), series, refs, frame[source.as_of])
             if watched else "")
    columns = [source.as_of, *(c for c in REALISED_COLUMNS if c in frame.columns)]
    columns = [c for c in columns if frame[c].notna().any()]
    table = html_table(frame, columns, is_classifier=is_classifier)
    return ('<p class="meta">Metrics on the rows whose labels have matured, per '
            f"{escape(source.as_of)}; the dashed lines are the test values at training. The period "
            "says where the as_of falls: the version's valid or test window, or live after it."
            f"</p>{chart}{table}")


def retrain_section(source: Source) -> str:
    """Return the retraining signal per as_of with recommended rows highlighted."""
    frame, note = monitoring_frame(source, "retrain_signal", (source.as_of, "retrain_recommended"))
    if frame is None:
        return note
    latest = frame.iloc[-1]
    recommended = truthy(latest.get("retrain_recommended"))
    verdict = "retraining recommended" if recommended else "no retraining recommended"
    reasons = as_text(latest.get("reasons"))
    summary = f"on {when_text(latest[source.as_of])}, the latest {source.as_of}" + (
        f": {reasons}" if reasons else "")
    columns = [source.as_of, "retrain_recommended", "reasons"]
    columns += [c for c in RETRAIN_COLUMNS if c in frame.columns and frame[c].notna().any()]
    columns = [c for c in columns if c in frame.columns]
    classes = ["fail-error" if truthy(v) else "" for v in frame.get(
        "retrain_recommended", pd.Series(False, index=frame.index))]
    return (f'<p><span class="badge {"failed" if recommended else "passed"}">'
            f"{escape(verdict)}</span> {escape(summary)}</p>{html_table(frame, columns, classes)}")


def _heatmap(frame: pd.DataFrame, as_of: str, dates: list[Any]) -> str:
    """Return the SVG grid of PSI, feature rows by date columns, with a tooltip per cell."""
    worst = frame.groupby("feature")["psi"].max().sort_values(ascending=False, kind="stable")
    features = [*worst.index, *sorted(set(frame["feature"]) - set(worst.index))]
    cells = {(r["feature"], r[as_of]): r for r in frame.to_dict("records")}
    cell_w, cell_h = 62, 22
    left = 20 + CHAR_PX * max(len(as_text(f)) for f in features)
    top = 76  # room for the rotated date labels
    width = int(left + cell_w * len(dates) + 70)  # the last date label leans right
    height = int(top + cell_h * len(features) + 6)
    parts = [svg_open(width, height, "Feature drift heatmap")]
    for j, date in enumerate(dates):
        x = left + cell_w * (j + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{top - 8}" font-size="11" text-anchor="start" '
                     f'transform="rotate(-40 {x:.1f} {top - 8})">{escape(when_text(date))}</text>')
    for i, feature in enumerate(features):
        y = top + cell_h * i
        parts.append(f'<text x="{left - 8:.1f}" y="{y + cell_h / 2 + 4:.1f}" font-size="12" '
                     f'text-anchor="end">{escape(feature)}</text>')
        for j, date in enumerate(dates):
            parts.append(_heatmap_cell(cells.get((feature, date)), feature, date,
                                       left + cell_w * j, y, cell_w, cell_h))
    parts.append("</svg>")
    return f'<figure class="chart">{"".join(parts)}</figure>'


def _heatmap_cell(
    record: dict[str, Any] | None, feature: Any, date: Any, x: float, y: float, w: int, h: int
) -> str:
    """Return one heatmap cell: a coloured rectangle, the PSI, and a tooltip."""
    psi = as_number(record.get("psi")) if record else math.nan
    band = _drift_band(record) if record else "missing"
    fill, ink = PSI_BANDS[band]
    tip = f"{as_text(feature)} on {when_text(date)}: PSI {fmt(psi) or 'n/a'}"
    if record:
        extras = [f"status {as_text(record.get('status'))}" if record.get("status") else "",
                  _share_text("nulls", record.get("null_share")),
                  _share_text("unseen categories", record.get("unseen_share")),
                  f"{fmt(record.get('current_total'), 'count')} rows"
                  if not is_missing(record.get("current_total")) else ""]
        tip += "".join(f"; {e}" for e in extras if e)
    label = "" if math.isnan(psi) else f"{psi:.2f}"
    return (f'<g class="cell" data-band="{band}"><title>{escape(tip)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w - 2}" height="{h - 2}" fill="{fill}" '
            f'rx="2"/><text x="{x + (w - 2) / 2:.1f}" y="{y + h / 2 + 3:.1f}" font-size="11" '
            f'text-anchor="middle" fill="{ink}">{escape(label)}</text></g>')


def _drift_band(record: dict[str, Any]) -> str:
    """Return a drift row's band: its status (the spec's own thresholds), else the usual bands."""
    status = record.get("status")
    return status if status in PSI_BANDS else _psi_band(record.get("psi"))


def _psi_band(psi: Any) -> str:
    """Return the PSI band: stable, moderate, drift, or missing."""
    value = as_number(psi)
    if math.isnan(value):
        return "missing"
    return "drift" if value >= PSI_DRIFT else "moderate" if value >= PSI_MODERATE else "stable"


def _share_text(label: str, value: Any) -> str:
    """Return "nulls 1.2%" for a share, empty when it is missing or zero."""
    share = as_number(value)
    return "" if math.isnan(share) or share == 0 else f"{label} {fmt(share, 'rate')}"


def _psi_bars(dates: list[Any], psi: list[float], tips: list[str]) -> str:
    """Return PSI per date as bars coloured by band, with the 0.1 and 0.2 lines."""
    values = [p for p in psi if not math.isnan(p)]
    y = value_axis("PSI", [0.0, *values, PSI_DRIFT * 1.2])
    x = date_axis(sorted_unique(pd.Series(dates)))
    frame = Frame(x, y, width=760, height=340, bottom=70)
    parts = [svg_open(frame.width, frame.height, "Prediction drift"),
             *frame.axes("Prediction PSI", rotate_x=True)]
    bar = max(4.0, min(40.0, 0.6 * _min_gap_px(frame, dates)))
    for date, value, tip in zip(dates, psi, tips, strict=True):
        if math.isnan(value):
            continue
        top, base = frame.py(value), frame.py(0.0)
        parts.append(f'<rect x="{frame.px(day_number(date)) - bar / 2:.1f}" y="{top:.1f}" '
                     f'width="{bar:.1f}" height="{max(base - top, 0.5):.1f}" '
                     f'fill="{PSI_BANDS[_psi_band(value)][0]}" stroke="#57606a" '
                     f'stroke-width="0.5"><title>{escape(tip)}</title></rect>')
    for level, colour in ((PSI_MODERATE, "#9a6700"), (PSI_DRIFT, "#cf222e")):
        yy = frame.py(level)
        parts.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{yy:.1f}" '
                     f'y2="{yy:.1f}" stroke="{colour}" stroke-dasharray="6 4"/>')
    parts.append("</svg>")
    legend = legend_html([(f"moderate ({PSI_MODERATE})", "#9a6700", True),
                      (f"drift ({PSI_DRIFT})", "#cf222e", True)])
    return f'<figure class="chart">{"".join(parts)}{legend}</figure>'


def _min_gap_px(frame: Frame, dates: list[Any]) -> float:
    """Return the smallest horizontal distance in pixels between two bars."""
    xs = sorted({frame.px(day_number(d)) for d in dates if not is_missing(d)})
    gaps = [b - a for a, b in itertools.pairwise(xs)]
    return min(gaps) if gaps else 40.0
