"""A static HTML page of data quality: the latest validation of each suite, and mart profiles.

The page is one self-contained file (plain HTML and a ``<style>`` element, no scripts, fonts or
images), so it renders offline and can be attached to a ticket or served from a bucket as is.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RESULT_COLUMNS = [
    "suite", "expectation", "column", "kwargs", "severity", "success", "observed_value",
    "unexpected_count", "unexpected_percent", "unexpected_values", "partition", "rows", "run_at",
]
PROFILE_DISPLAY = [
    "column", "dtype", "rows", "null_share", "distinct", "min", "p50", "max", "mean", "std",
    "top_categories", "note",
]
# Failed rows sort by how much they matter: errors stop a build, quarantine moves rows aside,
# warnings only inform.
SEVERITY_RANK = {"error": 0, "quarantine": 1, "warn": 2}
MAX_SAMPLE_VALUES = 10
MAX_LISTED_PARTITIONS = 5
MAX_TEXT = 300
_HIDDEN_KWARGS = {"column", "batch_id", "result_format", "catch_exceptions", "meta"}

_CSS = """
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


def write_report(
    results: pd.DataFrame,
    path: str | Path,
    profiles: pd.DataFrame | None = None,
    title: str = "Data quality",
) -> Path:
    """Write an HTML page of the latest validation of each suite, and optional mart profiles.

    Parameters
    ----------
    results
        Validation results, one row per expectation per partition per run, with the columns
        ``RESULT_COLUMNS`` (missing ones are treated as empty). Only the latest ``run_at`` of
        each suite is shown.
    path
        Where the page goes; parent folders are created. The file is replaced atomically
        (written to a temporary file in the same folder, then renamed), so a reader never sees
        half a page.
    profiles
        Mart profiles (``mlmodels.profiling.profile`` with a ``mart`` column), one section per
        mart; None for no profile section.
    title
        The page title.

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    Per suite, the page shows the pass/fail counts (failed errors, failed warnings, passed) and
    a table of expectations aggregated over partitions: failed errors first (red), then failed
    quarantine checks (orange) and failed warnings (amber), then passes (green). Every value is
    HTML-escaped; the page references nothing outside itself.
    """
    path = Path(path)
    page = render_report(results, profiles=profiles, title=title)
    _write_atomic(path, page)
    return path


def render_report(
    results: pd.DataFrame, profiles: pd.DataFrame | None = None, title: str = "Data quality"
) -> str:
    """Return the HTML text of the page :func:`write_report` writes."""
    suites = _suite_summaries(results)
    parts = [
        *_page_head(title, _CSS),
        "<body>",
        f"<h1>{_e(title)}</h1>",
    ]
    parts.append(_overview(suites))
    parts.extend(_suite_section(suite) for suite in suites)
    if profiles is not None:
        parts.append(_profiles_section(profiles))
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


# ------------------------------------------------------------------------------ results


@dataclass
class _Expectation:
    """One expectation of a suite, aggregated over the partitions of the latest run."""

    expectation: str
    column: str
    kwargs: str
    severity: str
    partitions: int = 0
    failed: list[str] = field(default_factory=list)
    observed: Any = None
    unexpected_count: float = math.nan
    unexpected_percent: float = math.nan
    samples: list[Any] = field(default_factory=list)

    @property
    def status(self) -> str:
        """Return "pass" or "fail-<severity>" (the row's CSS class)."""
        return f"fail-{self.severity}" if self.failed else "pass"

    def rank(self) -> tuple[int, int, str, str]:
        """Return the sort key: failed first, by severity, then by name and column."""
        severity = SEVERITY_RANK.get(self.severity, len(SEVERITY_RANK))
        return (0 if self.failed else 1, severity, self.expectation, self.column)


@dataclass
class _Suite:
    """The latest validation run of one suite."""

    name: str
    run_at: str
    partitions: int
    rows: float
    expectations: list[_Expectation]

    def count(self, severity: str) -> int:
        """Return the number of failed expectations of a severity."""
        return sum(1 for e in self.expectations if e.failed and e.severity == severity)

    @property
    def passed(self) -> int:
        """Return the number of expectations that passed in every partition."""
        return sum(1 for e in self.expectations if not e.failed)

    @property
    def status(self) -> str:
        """Return "failed" (an error failed), "warning" (another check failed) or "passed"."""
        if self.count("error"):
            return "failed"
        return "warning" if any(e.failed for e in self.expectations) else "passed"


def _page_head(title: str, css: str) -> list[str]:
    """Return the lines that open a self-contained page: doctype, charset, title, style."""
    return [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{css}</style>",
        "</head>",
    ]


def _suite_summaries(results: pd.DataFrame) -> list[_Suite]:
    """Return the latest run of every suite, with its expectations sorted for display."""
    frame = results.copy()
    for column in RESULT_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    if frame.empty:
        return []
    frame["suite"] = frame["suite"].map(_text)
    suites = []
    for name, rows in frame.groupby("suite", sort=True):
        latest = _latest_run(rows)
        expectations = _aggregate(latest)
        partitions = latest["partition"].map(_text)
        per_partition = pd.to_numeric(latest["rows"], errors="coerce").groupby(partitions).max()
        suites.append(_Suite(
            name=str(name),
            run_at=_text(latest["run_at"].iloc[0]),
            partitions=int(partitions.nunique()),
            rows=float(per_partition.sum(min_count=1)),
            expectations=sorted(expectations, key=_Expectation.rank),
        ))
    return suites


def _latest_run(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of the latest run_at (all rows when run_at is missing)."""
    run_at = rows["run_at"]
    if run_at.isna().all():
        return rows
    try:
        latest = run_at.dropna().max()
    except TypeError:  # mixed types: compare as text (ISO timestamps sort as text)
        run_at = run_at.map(_text)
        latest = run_at.max()
    return rows[run_at == latest]


def _aggregate(rows: pd.DataFrame) -> list[_Expectation]:
    """Return one _Expectation per expectation configuration, over the partitions."""
    grouped: dict[tuple[str, str, str, str], _Expectation] = {}
    for record in rows.to_dict("records"):
        kwargs = _kwargs_text(record["kwargs"])
        severity = _text(record["severity"]) or "error"
        key = (_text(record["expectation"]), _text(record["column"]), kwargs, severity)
        item = grouped.get(key)
        if item is None:
            item = grouped[key] = _Expectation(*key)
        item.partitions += 1
        success = _truthy(record["success"])
        if not success:
            item.failed.append(_text(record["partition"]) or "(all rows)")
        # The observed value shown is a failed partition's, where one failed.
        if item.observed is None or (not success and len(item.failed) == 1):
            item.observed = record["observed_value"]
        count = _number(record["unexpected_count"])
        if not math.isnan(count):
            item.unexpected_count = count + (
                0.0 if math.isnan(item.unexpected_count) else item.unexpected_count)
        percent = _number(record["unexpected_percent"])
        if not math.isnan(percent):
            item.unexpected_percent = max(percent, item.unexpected_percent) if not math.isnan(
                item.unexpected_percent) else percent
        values = _as_list(record["unexpected_values"])
        # Samples from failed partitions go first.
        item.samples = values + item.samples if not success else item.samples + values
    for item in grouped.values():
        item.samples = _unique(item.samples)[:MAX_SAMPLE_VALUES]
    return list(grouped.values())


# ----------------------------------------------------------------------------------- HTML


def _overview(suites: list[_Suite]) -> str:
    """Return the table of every suite's status, linking to its section."""
    if not suites:
        return '<p class="meta">No validation results.</p>'
    rows = []
    for suite in suites:
        rows.append(
            "<tr>"
            f'<td><a href="#{_anchor(suite.name)}">{_e(suite.name)}</a></td>'
            f'<td><span class="badge {suite.status}">{_e(suite.status)}</span></td>'
            f'<td class="num">{suite.count("error")}</td>'
            f'<td class="num">{suite.count("warn") + suite.count("quarantine")}</td>'
            f'<td class="num">{suite.passed}</td>'
            f"<td>{_e(suite.run_at)}</td>"
            "</tr>"
        )
    return (
        "<table><thead><tr><th>Suite</th><th>Status</th><th>Errors failed</th>"
        "<th>Warnings failed</th><th>Passed</th><th>Run at</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _suite_section(suite: _Suite) -> str:
    """Return the section of one suite: its header with counts and its expectation table."""
    rows_text = "" if math.isnan(suite.rows) else f", {_format_number(suite.rows)} rows"
    counts = [
        f"<span>errors failed: <strong>{suite.count('error')}</strong></span>",
        f"<span>warnings failed: <strong>{suite.count('warn')}</strong></span>",
    ]
    if suite.count("quarantine"):
        counts.append(f"<span>quarantined: <strong>{suite.count('quarantine')}</strong></span>")
    counts.append(f"<span>passed: <strong>{suite.passed}</strong></span>")
    body = "".join(_expectation_row(e) for e in suite.expectations)
    return (
        f'<h2 id="{_anchor(suite.name)}">{_e(suite.name)} '
        f'<span class="badge {suite.status}">{_e(suite.status)}</span></h2>'
        f'<p class="meta">run at {_e(suite.run_at)}; {suite.partitions} partition(s)'
        f"{_e(rows_text)}</p>"
        f'<p class="counts">{"".join(counts)}</p>'
        "<table><thead><tr><th>Expectation</th><th>Column</th><th>Severity</th>"
        "<th>Partitions failed / total</th><th>Observed value</th>"
        "<th>Unexpected count (worst %)</th><th>Sample unexpected values</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _expectation_row(item: _Expectation) -> str:
    """Return the table row of one expectation."""
    failed = f"{len(item.failed)} / {item.partitions}"
    if item.failed:
        listed = ", ".join(item.failed[:MAX_LISTED_PARTITIONS])
        more = len(item.failed) - MAX_LISTED_PARTITIONS
        failed += f": {listed}" + (f" (+{more} more)" if more > 0 else "")
    unexpected = "" if math.isnan(item.unexpected_count) else _format_number(
        item.unexpected_count)
    if not math.isnan(item.unexpected_percent):
        unexpected += f" ({_format_number(item.unexpected_percent)}%)"
    kwargs = f'<div class="kwargs">{_e(item.kwargs)}</div>' if item.kwargs else ""
    samples = ", ".join(_text(v) for v in item.samples)
    return (
        f'<tr class="{item.status}">'
        f"<td><code>{_e(item.expectation)}</code>{kwargs}</td>"
        f"<td>{_e(item.column)}</td>"
        f"<td>{_e(item.severity)}</td>"
        f"<td>{_e(failed)}</td>"
        f"<td>{_e(item.observed)}</td>"
        f'<td class="num">{_e(unexpected)}</td>'
        f"<td>{_e(samples)}</td>"
        "</tr>"
    )


def _profiles_section(profiles: pd.DataFrame) -> str:
    """Return one profile table per mart."""
    parts = ["<h2 id=\"profiles\">Profiles</h2>"]
    if profiles.empty:
        parts.append('<p class="meta">No profiles.</p>')
        return "".join(parts)
    marts = profiles["mart"].map(_text) if "mart" in profiles.columns else pd.Series(
        "", index=profiles.index)
    columns = [c for c in PROFILE_DISPLAY if c in profiles.columns]
    header = "".join(f"<th>{_e(c)}</th>" for c in columns)
    for mart in pd.unique(marts):
        rows = profiles[marts == mart]
        body = "".join(
            "<tr>" + "".join(_profile_cell(c, record.get(c)) for c in columns) + "</tr>"
            for record in rows.to_dict("records")
        )
        parts.append(
            f"<h3>{_e(mart or 'profile')}</h3>"
            f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"
        )
    return "".join(parts)


def _profile_cell(column: str, value: Any) -> str:
    """Return one cell of a profile table."""
    if column == "top_categories":
        return f"<td>{_e(_categories_text(value))}</td>"
    if column == "null_share":
        share = _number(value)
        text = "" if math.isnan(share) else f"{share:.1%}"
        return f'<td class="num">{_e(text)}</td>'
    if _is_missing(value):
        return "<td></td>"
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    ):
        return f'<td class="num">{_e(value)}</td>'
    return f"<td>{_e(value)}</td>"


def _categories_text(value: Any) -> str:
    """Return "basic 41.0%, pro 30.0%" from the JSON text of top categories."""
    text = _text(value)
    try:
        entries = json.loads(text) if text else []
        return ", ".join(f"{_text(e['value'])} {float(e['share']):.1%}" for e in entries)
    except (ValueError, TypeError, KeyError):
        return text


# ---------------------------------------------------------------------------- formatting


def _e(value: Any) -> str:
    """Return a value as escaped HTML text."""
    return html.escape(_text(value), quote=True)


def _is_missing(value: Any) -> bool:
    """Return True for None, NaN, NA and NaT (and never for containers)."""
    if value is None:
        return True
    if isinstance(value, list | tuple | dict | set | np.ndarray):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str:
    """Return a value as display text: numbers to 6 significant digits, containers as JSON."""
    if _is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return _format_number(float(value))
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple | dict | set):
        text = json.dumps(list(value) if isinstance(value, set | tuple) else value,
                          default=str, sort_keys=isinstance(value, dict))
    else:
        text = str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "\u2026"


def _format_number(value: float) -> str:
    """Return a number with up to 6 significant digits, integers without a decimal point."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _number(value: Any) -> float:
    """Return a value as a float, NaN when it is missing or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _truthy(value: Any) -> bool:
    """Return the success flag of a result row (bools, 0/1 and "true"/"false" text)."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "t", "1", "yes"}
    if _is_missing(value):
        return False
    return bool(value)


def _kwargs_text(value: Any) -> str:
    """Return the settings of an expectation as "name=value, ..." (column and ids left out)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if not isinstance(value, dict):
        return _text(value)
    shown = {k: v for k, v in sorted(value.items()) if k not in _HIDDEN_KWARGS}
    return ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in shown.items())


def _as_list(value: Any) -> list[Any]:
    """Return unexpected values as a list (from a list, an array, JSON text or a scalar)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple | set):
        return list(value)
    if _is_missing(value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            with contextlib.suppress(ValueError):
                parsed = json.loads(text)
                if isinstance(parsed, list):
                    return parsed
        return [value] if text else []
    return [value]


def _unique(values: Iterable[Any]) -> list[Any]:
    """Return values in order without repeats (compared as display text)."""
    seen: set[str] = set()
    unique = []
    for value in values:
        text = _text(value)
        if text not in seen:
            seen.add(text)
            unique.append(value)
    return unique


def _anchor(name: str) -> str:
    """Return an id attribute value for a suite's section."""
    return "suite-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def _write_atomic(path: Path, text: str) -> None:
    """Write text to a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates the file readable by its owner only; a report is for everyone.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
