"""The HTML toolkit of both report pages: base CSS, escaping, cells, tables and formats."""

from __future__ import annotations

import datetime
import html
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

MAX_TEXT = 300

BASE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem;
       color: #1f2328; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #d0d7de;
     padding-bottom: 0.3rem; }
h3 { font-size: 1.05rem; margin-top: 1.6rem; }
.meta { color: #59636e; font-size: 0.9rem; }
table { border-collapse: collapse; width: 100%; margin-top: 0.6rem; font-size: 0.85rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.kwargs { color: #59636e; font-size: 0.78rem; word-break: break-word; }
tr.fail-error td { background: #ffebe9; }
tr.fail-error td:first-child { border-left: 4px solid #cf222e; }
tr.fail-quarantine td { background: #fff1e5; }
tr.fail-quarantine td:first-child { border-left: 4px solid #bc4c00; }
tr.fail-warn td { background: #fff8c5; }
tr.fail-warn td:first-child { border-left: 4px solid #9a6700; }
tr.pass td { background: #f0fff4; }
tr.pass td:first-child { border-left: 4px solid #1a7f37; }
.badge { display: inline-block; padding: 0.1rem 0.5rem; border-radius: 1rem;
         font-size: 0.8rem; font-weight: 600; color: #fff; }
.badge.failed { background: #cf222e; }
.badge.warning { background: #9a6700; }
.badge.passed { background: #1a7f37; }
.counts span { margin-right: 1rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
"""


def page_head(title: str, css: str) -> list[str]:
    """Return the lines that open a self-contained page: doctype, charset, title, style."""
    return [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{css}</style>",
        "</head>",
    ]


def escape(value: Any) -> str:
    """Return a value as escaped HTML text."""
    return html.escape(as_text(value), quote=True)


def is_missing(value: Any) -> bool:
    """Return True for None, NaN, NA and NaT (and never for containers)."""
    if value is None:
        return True
    if isinstance(value, list | tuple | dict | set | np.ndarray):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def as_text(value: Any) -> str:
    """Return a value as display text: numbers to 6 significant digits, containers as JSON."""
    if is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return format_number(float(value))
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple | dict | set):
        text = json.dumps(list(value) if isinstance(value, set | tuple) else value,
                          default=str, sort_keys=isinstance(value, dict))
    else:
        text = str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "\u2026"


def format_number(value: float) -> str:
    """Return a number with up to 6 significant digits, integers without a decimal point."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def as_number(value: Any) -> float:
    """Return a value as a float, NaN when it is missing or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def truthy(value: Any) -> bool:
    """Return the success flag of a result row (bools, 0/1 and "true"/"false" text)."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "t", "1", "yes"}
    if is_missing(value):
        return False
    return bool(value)

NOT_AVAILABLE = "not available yet"


# How a number prints, by what it is (see fmt): the same kind prints the same on every table.
KINDS = ("count", "rate", "score", "value", "ratio")

_COUNTS = {"rows", "positives", "tp", "fp", "tn", "fn", "decile", "labelled_rows",
           "decision_capacity", "score_rank", "as_ofs"}
_RATES = {"cumulative_gain", "null_share", "unseen_share", "predicted_positive_share"}
_RATIOS = {"lift", "cumulative_lift"}
_VALUES = {"rmse", "mae", "expected_cost", "net_value", "mean_actual", "mean_residual",
           "min_prediction", "max_prediction", "rate_gap_value", "fit_seconds",
           "latency_ms_per_1000", "artifact_mb"}


def kind_of(name: str, is_classifier: bool = True) -> str:
    """Return how a column or metric of that name prints (one of ``KINDS``).

    Counts (``rows``, ``tp``, ``*_rows``, ``*_total``), rates and shares (``*_rate``,
    ``*_share``, ``cumulative_gain``), ratios (``lift``), values in the target's unit (errors,
    regression predictions, costs) and, for anything else, scores (AUC, precision, PSI,
    probabilities, thresholds). ``mean_prediction`` / ``mean_score`` are scores of a
    classifier and values of a regression model.
    """
    name = str(name)
    if name in _COUNTS or name.endswith(("_rows", "_total", "_count", "_positives")):
        return "count"
    if name in _RATES or name.endswith(("_rate", "_share")):
        return "rate"
    if name in _RATIOS:
        return "ratio"
    if name in _VALUES or (name.startswith(("rolling_", "mean_")) and not is_classifier):
        return "value"
    if name in {"mean_prediction", "mean_score", "prediction"}:
        return "score" if is_classifier else "value"
    return "score"


def fmt(value: Any, kind: str = "score", signed: bool = False) -> str:
    """Return a number as text by its kind: the one number format of the report pages.

    Parameters
    ----------
    value
        A number (or anything :func:`as_number` reads); missing gives "".
    kind
        ``count``: an integer with thousands separators (``12,345``); ``rate``: a percentage
        with one decimal (``12.3%``); ``score``: three decimals (``0.812``); ``value``: two
        decimals with thousands separators (``1,234.57``), for money and the target's unit;
        ``ratio``: two decimals and a times sign (``2.31x``).
    signed
        Prefix a plus sign to positive numbers (differences).

    Examples
    --------
    >>> fmt(0.08551, "rate"), fmt(5.19234, "score"), fmt(12345, "count"), fmt(1234.5, "value")
    ('8.6%', '5.192', '12,345', '1,234.50')
    >>> fmt(0.004903, "score", signed=True), fmt(-0.0123, "rate", signed=True)
    ('+0.005', '-1.2%')
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    number = as_number(value)
    if math.isnan(number):
        return ""
    if math.isinf(number):
        return ("+" if signed and number > 0 else "") + ("inf" if number > 0 else "-inf")
    sign = "+" if signed else ""
    if kind == "count":
        return f"{number:{sign},.0f}"
    if kind == "rate":
        return f"{number:{sign}.1%}"
    if kind == "value":
        return f"{number:{sign},.2f}"
    if kind == "ratio":
        return f"{number:{sign}.2f}x"
    return f"{number:{sign}.3f}"


def html_table(frame: pd.DataFrame, columns: list[str], classes: Sequence[str] = (),
               kinds: dict[str, str] | None = None, is_classifier: bool = True) -> str:
    """Return an HTML table of some columns, numbers right-aligned, with optional row classes.

    Numbers print by their column's kind (:func:`kind_of`, or ``kinds`` for a column).
    """
    header = "".join(f"<th>{column_label(c)}</th>" for c in columns)
    formats = {c: (kinds or {}).get(c) or kind_of(c, is_classifier) for c in columns}
    body = []
    for i, record in enumerate(frame[columns].to_dict("records")):
        css = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        cells = "".join(_cell(record[c], formats[c]) for c in columns)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def column_label(name: str) -> str:
    """Return a column name as header HTML that may wrap after its underscores."""
    # Long snake_case names are one word to the browser; <wbr> lets a wide table fit the page.
    return escape(name).replace("_", "_<wbr>")


def _cell(value: Any, kind: str = "score") -> str:
    """Return a table cell: numbers formatted by kind and right-aligned, dates as dates."""
    if isinstance(value, bool | np.bool_):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | float | np.integer | np.floating) and not is_missing(value):
        return f'<td class="num">{escape(fmt(value, kind))}</td>'
    if isinstance(value, datetime.date):  # pd.Timestamp is one too
        return f'<td class="date">{escape(when_text(value))}</td>'
    return f"<td>{escape(value)}</td>"


def in_preferred_order(values: Sequence[Any], preferred: Sequence[str]) -> list[str]:
    """Return values with the preferred ones first in that order, then the rest sorted."""
    present = [str(v) for v in values]
    return [p for p in preferred if p in present] + sorted(set(present) - set(preferred))


def sorted_unique(values: pd.Series) -> list[Any]:
    """Return the distinct non-missing values, sorted."""
    return sorted(v for v in pd.unique(values) if not is_missing(v))


def thinned_indices(length: int, most: int) -> list[int]:
    """Return at most about ``most`` evenly spaced positions of a sequence, ends included."""
    if length <= most:
        return list(range(length))
    step = math.ceil((length - 1) / (most - 1))
    return sorted({*range(0, length, step), length - 1})


def number_text(value: Any) -> str:
    """Return a number with 4 significant digits (thousands separated), integers as integers."""
    number = as_number(value)
    if math.isnan(number):
        return ""
    if number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}" if abs(number) >= 1e4 else str(int(number))
    if abs(number) >= 1e4:
        return f"{number:,.0f}"
    return f"{number:.4g}"


def count_text(value: Any) -> str:
    """Return a row count with thousands separated."""
    number = as_number(value)
    return "" if math.isnan(number) else f"{number:,.0f}"


def when_text(value: Any) -> str:
    """Return a date or timestamp as ISO text, midnight timestamps as dates."""
    if is_missing(value):
        return ""
    if isinstance(value, int | float | str):  # not a date: pd.Timestamp would read it as one
        return as_text(value)
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return as_text(value)
    if stamp == stamp.normalize():
        return stamp.strftime("%Y-%m-%d")
    return stamp.strftime("%Y-%m-%d %H:%M:%S")
