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


def html_table(frame: pd.DataFrame, columns: list[str], classes: Sequence[str] = ()) -> str:
    """Return an HTML table of some columns, numbers right-aligned, with optional row classes."""
    header = "".join(f"<th>{column_label(c)}</th>" for c in columns)
    body = []
    for i, record in enumerate(frame[columns].to_dict("records")):
        css = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        cells = "".join(_cell(record[c]) for c in columns)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def column_label(name: str) -> str:
    """Return a column name as header HTML that may wrap after its underscores."""
    # Long snake_case names are one word to the browser; <wbr> lets a wide table fit the page.
    return escape(name).replace("_", "_<wbr>")


def _cell(value: Any) -> str:
    """Return a table cell: numbers formatted and right-aligned, dates as dates."""
    if isinstance(value, bool | np.bool_):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | float) and not is_missing(value):
        return f'<td class="num">{escape(number_text(value))}</td>'
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
