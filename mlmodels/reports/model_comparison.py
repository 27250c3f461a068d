"""The model page's comparison sections: for whom the version does well, and against whom.

Metrics by segment of the test split come from the evaluation table written at training.
Realised numbers are computed here from the model's scores joined to its matured labels in the
training-set mart (``ml_model_specs`` names the mart, the entity key and the target): per
segment of this version, and per version on the rows every compared version scored.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from mlmodels.reports.html import (
    NOT_AVAILABLE,
    as_number,
    as_text,
    escape,
    fmt,
    html_table,
    is_missing,
    when_text,
)
from mlmodels.reports.model_data import Source, unusable
from mlmodels.reports.model_evaluation import metric_kind
from mlmodels.spec.specs import HIGHER_IS_BETTER
from mlmodels.sql import quote

SEGMENTS = "ml_evaluation__segments"
SPECS = "ml_model_specs"
MAX_CATEGORIES = 10
OTHER = "(other)"
MISSING = "(missing)"
MAX_VERSIONS = 6
CLASSIFIER_METRICS = ("roc_auc", "pr_auc", "precision", "recall", "f1", "log_loss", "brier",
                      "actual_rate", "predicted_rate")
REGRESSION_METRICS = ("rmse", "mae", "r2", "mean_actual", "mean_prediction")


# --------------------------------------------------------------------------- segments


def segments_section(source: Source, registered: dict[str, Any], is_classifier: bool) -> str:
    """Return the model's metrics per category of each categorical feature: test and realised."""
    table = SEGMENTS
    frame = source.read(table)
    note = unusable(source, table, frame, ("feature", "category", "rows"))
    parts = ["<h3>On the test split</h3>"]
    parts.append(note or _segment_tables(frame, is_classifier, "The test rows"))
    parts.append("<h3>On realised labels</h3>")
    categorical = _categorical(registered)
    realised, why = realised_rows(source, [source.version], categorical)
    if realised is None or realised.empty:
        parts.append(why or f'<p class="na">{escape(NOT_AVAILABLE)}: no score of this version '
                            "has a matured label yet.</p>")
        return "".join(parts)
    categorical = [c for c in categorical if c in realised.columns]
    if not categorical:
        parts.append(f'<p class="na">{escape(NOT_AVAILABLE)}: the training set has none of the '
                     "categorical features.</p>")
        return "".join(parts)
    segments = pd.DataFrame(segment_table(realised, categorical, is_classifier))
    dates = realised[source.as_of]
    parts.append(_segment_tables(
        segments, is_classifier,
        f"The {fmt(len(realised), 'count')} scores of this version whose labels have matured "
        f"({escape(source.as_of)} {escape(when_text(dates.min()))} to "
        f"{escape(when_text(dates.max()))})"
        + (", each at the threshold it was scored with" if is_classifier else "")))
    return "".join(parts)


def _segment_tables(frame: pd.DataFrame, is_classifier: bool, where: str) -> str:
    """Return one table per feature of a segments frame."""
    metrics = (("rows", "positives", "actual_rate", "mean_prediction", "roc_auc", "precision",
                "recall") if is_classifier
               else ("rows", "mean_actual", "mean_prediction", "rmse", "mae"))
    columns = ["category", *(m for m in metrics if m in frame.columns)]
    parts = [f'<p class="meta">{where}: per category of each categorical feature, the '
             f"{MAX_CATEGORIES} with most rows, the rest pooled as {OTHER}. "
             + ("Precision and recall are at the decision threshold; ROC AUC is empty where a "
                "category holds one class only." if is_classifier else
                "Errors are in the target's unit.") + "</p>"]
    for feature in pd.unique(frame["feature"]):
        rows = frame[frame["feature"] == feature]
        parts.append(f"<h4>{escape(feature)}</h4>"
                     f"{html_table(rows, columns, is_classifier=is_classifier)}")
    return "".join(parts)


def segment_labels(values: pd.Series, max_categories: int = MAX_CATEGORIES) -> pd.Series:
    """Return each row's segment: its category among the largest, else (other); nulls (missing)."""
    text = values.astype(object).where(values.notna(), MISSING).astype(str)
    counts = text.value_counts()
    kept = set(sorted(counts.index, key=lambda c: (-counts[c], c))[:max_categories])
    return text.where(text.isin(kept), OTHER)


def segment_table(rows: pd.DataFrame, features: list[str], is_classifier: bool,
                  max_categories: int = MAX_CATEGORIES) -> list[dict[str, Any]]:
    """Return metrics per category of each feature of scored, labelled rows.

    ``rows`` has ``score``, ``actual`` and, for classifiers, ``threshold`` (the one each row
    was scored with) besides the feature columns.
    """
    records = []
    for feature in features:
        segments = segment_labels(rows[feature].reset_index(drop=True), max_categories)
        counts = segments.value_counts()
        for category in sorted(counts.index, key=lambda c: (c == OTHER, -counts[c], c)):
            part = rows.reset_index(drop=True)[(segments == category).to_numpy()]
            records.append({"feature": feature, "category": category,
                            **scored_metrics(part, is_classifier)})
    return records


def scored_metrics(rows: pd.DataFrame, is_classifier: bool) -> dict[str, float]:
    """Return the metrics of scored rows with labels (``score``, ``actual``, ``threshold``)."""
    y = rows["actual"].to_numpy(dtype=float)
    s = rows["score"].to_numpy(dtype=float)
    out = {"rows": float(len(y)), "mean_prediction": float(np.mean(s)) if len(s) else math.nan}
    if not len(y):
        return out
    if not is_classifier:
        error = y - s
        total = float(np.sum((y - y.mean()) ** 2))
        return out | {"mean_actual": float(y.mean()), "rmse": float(np.sqrt(np.mean(error**2))),
                      "mae": float(np.mean(np.abs(error))),
                      "r2": 1 - float(np.sum(error**2)) / total if total > 0 else math.nan}
    threshold = rows["threshold"].to_numpy(dtype=float) if "threshold" in rows else 0.5
    flagged = s >= threshold
    positives = float(y.sum())
    tp = float(np.sum(flagged & (y == 1)))
    precision = tp / flagged.sum() if flagged.sum() else 0.0
    recall = tp / positives if positives else math.nan
    return out | {
        "positives": positives, "actual_rate": positives / len(y),
        "predicted_rate": float(flagged.mean()),
        "roc_auc": roc_auc(y, s), "pr_auc": average_precision(y, s),
        "precision": precision, "recall": recall,
        "f1": 2 * tp / (flagged.sum() + positives) if flagged.sum() + positives else math.nan,
    }


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Return the ROC AUC (Mann-Whitney, ties counted half), NaN with one class only."""
    labels = np.asarray(labels, dtype=float)
    n_pos = labels.sum()
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Return the average precision (sklearn's PR AUC), NaN without a positive.

    The precision at each distinct score, highest first, weighted by the positives it adds.
    """
    labels = np.asarray(labels, dtype=float)
    if labels.sum() == 0:
        return math.nan
    grouped = (pd.DataFrame({"score": scores, "label": labels}).groupby("score")["label"]
               .agg(["sum", "size"]).sort_index(ascending=False))
    precision = grouped["sum"].cumsum() / grouped["size"].cumsum()
    return float((precision * grouped["sum"]).sum() / labels.sum())


def _categorical(registered: dict[str, Any]) -> list[str]:
    """Return the version's categorical features from its registry row (JSON text)."""
    value = registered.get("categorical_features")
    try:
        names = json.loads("[]" if is_missing(value) else str(value))
    except ValueError:
        return []
    return [str(n) for n in names] if isinstance(names, list) else []


# --------------------------------------------------------------------------- realised rows


def realised_rows(source: Source, versions: list[str],
                  features: list[str] | tuple[str, ...] = ()) -> tuple[pd.DataFrame | None, str]:
    """Return the scores of some versions joined to their matured labels, and "" as the note.

    Columns: ``model_version``, ``entity`` (the entity key), the as_of column, ``score``,
    ``threshold``, ``actual`` and those of ``features`` the training set has. ``(None, note)``
    when the scores, the training set or its row in ``ml_model_specs`` is missing.
    """
    specs = source.read(SPECS)
    note = unusable(source, SPECS, specs, ("model_name", "target", "entity_key", "training_set"))
    if specs is None or note:
        return None, note
    spec = specs[specs["model_name"] == source.model_name]
    if spec.empty:
        return None, unusable(source, SPECS, spec)
    target, key, mart = (as_text(spec.iloc[0][c])
                         for c in ("target", "entity_key", "training_set"))
    scores_table = source.monitoring("scores")
    found = {scores_table: source.columns(scores_table), mart: source.columns(mart)}
    needed = {scores_table: ("model_version", key, source.as_of, "score"),
              mart: (key, source.as_of, target)}
    for table, columns in found.items():
        if columns is None:
            return None, unusable(source, table, None)
        lacking = [c for c in needed[table] if c not in columns]
        if lacking:
            return None, unusable(source, table, pd.DataFrame(columns=columns), lacking)
    scores_columns, mart_columns = found[scores_table] or [], found[mart] or []
    kept = [c for c in features if c in mart_columns and c not in {key, source.as_of, target}]
    threshold = "s.threshold" if "threshold" in scores_columns else "cast(null as double)"
    mature = " and t.is_label_mature" if "is_label_mature" in mart_columns else ""
    marks = ", ".join("?" for _ in versions)
    sql = (
        f"select s.model_version, s.{quote(key)} as entity, s.{quote(source.as_of)}, s.score, "
        f"{threshold} as threshold, cast(t.{quote(target)} as double) as actual"
        + "".join(f", t.{quote(c)}" for c in kept)
        + f" from {quote(source.schema)}.{quote(scores_table)} as s"
        f" inner join {quote(source.schema)}.{quote(mart)} as t"
        f" on t.{quote(key)} = s.{quote(key)}"
        f" and t.{quote(source.as_of)} = s.{quote(source.as_of)}"
        f" where s.model_name = ? and s.model_version in ({marks})"
        f" and t.{quote(target)} is not null{mature}"
    )
    return source.con.execute(sql, [source.model_name, *versions]).df(), ""


# --------------------------------------------------------------------------- versions


def versions_section(source: Source, registered: dict[str, Any], is_classifier: bool) -> str:
    """Return this version beside the champion, the challengers and the previous champion."""
    versions = compared_versions(source, registered)
    labels = {v: f"{v} ({s}{', this page' if v == source.version else ''})"
              for v, s in versions}
    order = [v for v, _ in versions]
    parts = [(f'<p class="meta">Compared: {escape(", ".join(labels.values()))}. A winner is '
              "named when it is better by more than 0.1% (higher AUC, precision, recall, R2; "
              "lower errors and losses); rates and means have no winner.</p>")]
    if len(order) == 1:
        parts.append('<p class="meta">No other version of this model is registered: the '
                     "numbers below are this version's alone.</p>")
    parts.append("<h3>Test metrics each version recorded</h3>")
    parts.append(_test_comparison(source, order, labels, is_classifier))
    parts.append("<h3>Realised on the same rows</h3>")
    parts.append(_realised_comparison(source, order, labels, is_classifier))
    return "".join(parts)


def compared_versions(source: Source, registered: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (version, status): this one, the champion, the challengers, the last retired."""
    rows = source.con.execute(
        f"select model_version, status, promoted_at, trained_at from "
        f"{quote(source.schema)}.ml_model_registry where model_name = ? "
        "order by trained_at desc nulls last, model_version", [source.model_name]).df()
    chosen = [(source.version, as_text(registered.get("status")))]
    for status in ("champion", "challenger"):
        chosen += [(as_text(r.model_version), status) for r in rows.itertuples()
                   if as_text(r.status) == status]
    retired = rows[rows["status"].astype(str) == "retired"]
    if not retired.empty:  # the previous champion: the one retired most recently
        last = retired.sort_values("promoted_at", ascending=False, na_position="last").iloc[0]
        chosen.append((as_text(last["model_version"]), "previous champion"))
    seen: dict[str, str] = {}
    for version, status in chosen:
        seen.setdefault(version, status)
    return list(seen.items())[:MAX_VERSIONS]


def _test_comparison(source: Source, versions: list[str], labels: dict[str, str],
                     is_classifier: bool) -> str:
    """Return the test metrics of each version, with each one's test window."""
    table = "ml_evaluation__metrics"
    marks = ", ".join("?" for _ in versions)
    columns = source.columns(table)
    if columns is None:
        return unusable(source, table, None)
    metrics = source.con.execute(
        f"select model_version, metric, value from {quote(source.schema)}.{quote(table)} "
        f"where model_name = ? and model = 'model' and split = 'test' "
        f"and model_version in ({marks})", [source.model_name, *versions]).df()
    note = unusable(source, table, metrics)
    if note:
        return note
    windows = source.con.execute(
        f"select model_version, test_from, test_to, test_rows from "
        f"{quote(source.schema)}.ml_model_registry where model_name = ? and model_version in "
        f"({marks})", [source.model_name, *versions]).df().set_index("model_version")
    values = {(as_text(r.model_version), as_text(r.metric)): as_number(r.value)
              for r in metrics.itertuples()}
    wanted = CLASSIFIER_METRICS if is_classifier else REGRESSION_METRICS
    names = [m for m in wanted if any((v, m) in values for v in versions)]
    window_text = "; ".join(
        f"{v}: {when_text(windows.at[v, 'test_from'])} to {when_text(windows.at[v, 'test_to'])}"
        f" ({fmt(windows.at[v, 'test_rows'], 'count')} rows)"
        for v in versions if v in windows.index)
    same = windows[["test_from", "test_to"]].drop_duplicates().shape[0] <= 1
    caution = ("All compared versions share one test window." if same else
               "The test windows differ, so these numbers are not on the same rows; the "
               "realised table below is.")
    return (f'<p class="meta">Window: each version\'s own test split ({escape(window_text)}). '
            f"{escape(caution)}</p>"
            + comparison_table({m: {v: values.get((v, m), math.nan) for v in versions}
                                for m in names}, versions, labels, is_classifier))


def _realised_comparison(source: Source, versions: list[str], labels: dict[str, str],
                         is_classifier: bool) -> str:
    """Return each version's realised metrics on the rows every compared version scored."""
    rows, note = realised_rows(source, versions)
    if rows is None:
        return note
    scored = [v for v in versions if (rows["model_version"] == v).any()]
    if not scored:
        return (f'<p class="na">{escape(NOT_AVAILABLE)}: no compared version has a score with '
                "a matured label yet.</p>")
    # The first version (this page's, else the first with matured scores), then each other one
    # that keeps some row in common with those already in: the largest fair comparison.
    keys = ["entity", source.as_of]
    kept = scored[:1]
    apart = []
    for version in scored[1:]:
        if common_rows(rows, [*kept, version], keys).empty:
            apart.append(version)
        else:
            kept.append(version)
    common = common_rows(rows, kept, keys)
    missing = [v for v in versions if v not in scored]
    lacking = (f" No matured score yet: {', '.join(missing)}." if missing else "")
    lacking += (f" Left out, no row in common with the others: {', '.join(apart)}."
                if apart else "")
    scored = kept
    dates = common[source.as_of]
    per_version = {v: scored_metrics(common[common["model_version"] == v], is_classifier)
                   for v in scored}
    wanted = [m for m in (CLASSIFIER_METRICS if is_classifier else REGRESSION_METRICS)
              if m not in {"log_loss", "brier"}]
    rows_each = fmt(len(common) / len(scored), "count")
    return (f'<p class="meta">Window: the {rows_each} rows (entity and '
            f"{escape(source.as_of)}) every version with matured labels scored, "
            f"{escape(source.as_of)} {escape(when_text(dates.min()))} to "
            f"{escape(when_text(dates.max()))} ({dates.nunique()} dates), labels from the "
            f"training-set mart{'; each at the threshold it scored with' if is_classifier else ''}."
            f"{escape(lacking)}</p>"
            + comparison_table({m: {v: per_version[v].get(m, math.nan) for v in scored}
                                for m in wanted}, scored, labels, is_classifier))


def common_rows(rows: pd.DataFrame, versions: list[str], keys: list[str]) -> pd.DataFrame:
    """Return the rows of the given versions whose keys every one of them scored."""
    mine = rows[rows["model_version"].isin(versions)]
    counts = mine.groupby(keys)["model_version"].nunique()
    shared = counts[counts == len(versions)].index
    return mine.set_index(keys).loc[lambda f: f.index.isin(shared)].reset_index()


def comparison_table(values: dict[str, dict[str, float]], versions: list[str],
                     labels: dict[str, str], is_classifier: bool) -> str:
    """Return metrics by version with the winner of each metric named (and its cell green)."""
    header = ("<tr><th>Metric</th>" + "".join(f"<th>{escape(labels.get(v, v))}</th>"
                                              for v in versions) + "<th>Winner</th></tr>")
    body = []
    for metric, by_version in values.items():
        best = winner(metric, by_version)
        kind = metric_kind(metric) if is_classifier or metric == "r2" else "value"
        cells = "".join(
            f'<td class="num{" better" if v == best else ""}">'
            f"{escape(fmt(by_version.get(v), kind))}</td>" for v in versions)
        verdict = best or ("tie" if HIGHER_IS_BETTER.get(metric) is not None
                           and len(versions) > 1 else "")
        body.append(f"<tr><td>{escape(metric)}</td>{cells}<td>{escape(verdict)}</td></tr>")
    return f"<table><thead>{header}</thead><tbody>{''.join(body)}</tbody></table>"


def winner(metric: str, by_version: dict[str, float]) -> str:
    """Return the version best on a metric by more than 0.1%, "" on a tie or a rate."""
    higher = HIGHER_IS_BETTER.get(metric)
    scores = {v: x for v, x in by_version.items() if not math.isnan(x)}
    if higher is None or len(scores) < 2:
        return ""
    ranked = sorted(scores, key=lambda v: scores[v], reverse=higher)
    best, second = scores[ranked[0]], scores[ranked[1]]
    if abs(best - second) <= 1e-3 * max(abs(best), abs(second), 1e-12):
        return ""
    return ranked[0]


