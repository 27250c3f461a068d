"""A static HTML page of data quality: the latest validation of each suite, and mart profiles.

The page is one self-contained file (plain HTML and a ``<style>`` element, no scripts, fonts or
images), so it renders offline and can be attached to a ticket or served from a bucket as is.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlmodels.files import write_text_atomic
from mlmodels.reports.html import (
    BASE_CSS,
    as_number,
    as_text,
    escape,
    format_number,
    is_missing,
    page_head,
    truthy,
)

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

_HIDDEN_KWARGS = {"column", "batch_id", "result_format", "catch_exceptions", "meta"}


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
    write_text_atomic(path, page, mode=0o644)  # a report is for everyone
    return path


def render_report(
    results: pd.DataFrame, profiles: pd.DataFrame | None = None, title: str = "Data quality"
) -> str:
    """Return the HTML text of the page :func:`write_report` writes."""
    suites = _suite_summaries(results)
    parts = [
        *page_head(title, BASE_CSS),
        "<body>",
        f"<h1>{escape(title)}</h1>",
    ]
    parts.append(_overview(suites))
    parts.extend(_suite_section(suite) for suite in suites)
    if profiles is not None:
        parts.append(_profiles_section(profiles))
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


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


def _suite_summaries(results: pd.DataFrame) -> list[_Suite]:
    """Return the latest run of every suite, with its expectations sorted for display."""
    frame = results.copy()
    for column in RESULT_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    if frame.empty:
        return []
    frame["suite"] = frame["suite"].map(as_text)
    suites = []
    for name, rows in frame.groupby("suite", sort=True):
        latest = _latest_run(rows)
        expectations = _aggregate(latest)
        partitions = latest["partition"].map(as_text)
        per_partition = pd.to_numeric(latest["rows"], errors="coerce").groupby(partitions).max()
        suites.append(_Suite(
            name=str(name),
            run_at=as_text(latest["run_at"].iloc[0]),
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
        run_at = run_at.map(as_text)
        latest = run_at.max()
    return rows[run_at == latest]


def _aggregate(rows: pd.DataFrame) -> list[_Expectation]:
    """Return one _Expectation per expectation configuration, over the partitions."""
    grouped: dict[tuple[str, str, str, str], _Expectation] = {}
    # The same kwargs text comes once per partition: parse and format each text once.
    kwargs_texts: dict[str, str] = {}
    for record in rows.to_dict("records"):
        raw = record["kwargs"]
        if not isinstance(raw, str):
            kwargs = _kwargs_text(raw)
        elif (kwargs := kwargs_texts.get(raw)) is None:
            kwargs = kwargs_texts[raw] = _kwargs_text(raw)
        severity = as_text(record["severity"]) or "error"
        key = (as_text(record["expectation"]), as_text(record["column"]), kwargs, severity)
        item = grouped.get(key)
        if item is None:
            item = grouped[key] = _Expectation(*key)
        item.partitions += 1
        success = truthy(record["success"])
        if not success:
            item.failed.append(as_text(record["partition"]) or "(all rows)")
        # The observed value shown is a failed partition's, where one failed.
        if item.observed is None or (not success and len(item.failed) == 1):
            item.observed = record["observed_value"]
        count = as_number(record["unexpected_count"])
        if not math.isnan(count):
            item.unexpected_count = count + (
                0.0 if math.isnan(item.unexpected_count) else item.unexpected_count)
        percent = as_number(record["unexpected_percent"])
        if not math.isnan(percent):
            item.unexpected_percent = max(percent, item.unexpected_percent) if not math.isnan(
                item.unexpected_percent) else percent
        values = _as_list(record["unexpected_values"])
        # Samples from failed partitions go first.
        item.samples = values + item.samples if not success else item.samples + values
    for item in grouped.values():
        item.samples = _unique(item.samples)[:MAX_SAMPLE_VALUES]
    return list(grouped.values())


def _overview(suites: list[_Suite]) -> str:
    """Return the table of every suite's status, linking to its section."""
    if not suites:
        return '<p class="meta">No validation results.</p>'
    rows = []
    for suite in suites:
        rows.append(
            "<tr>"
            f'<td><a href="#{_anchor(suite.name)}">{escape(suite.name)}</a></td>'
            f'<td><span class="badge {suite.status}">{escape(suite.status)}</span></td>'
            f'<td class="num">{suite.count("error")}</td>'
            f'<td class="num">{suite.count("warn") + suite.count("quarantine")}</td>'
            f'<td class="num">{suite.passed}</td>'
            f"<td>{escape(suite.run_at)}</td>"
            "</tr>"
        )
    return (
        "<table><thead><tr><th>Suite</th><th>Status</th><th>Errors failed</th>"
        "<th>Warnings failed</th><th>Passed</th><th>Run at</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _suite_section(suite: _Suite) -> str:
    """Return the section of one suite: its header with counts and its expectation table."""
    rows_text = "" if math.isnan(suite.rows) else f", {format_number(suite.rows)} rows"
    counts = [
        f"<span>errors failed: <strong>{suite.count('error')}</strong></span>",
        f"<span>warnings failed: <strong>{suite.count('warn')}</strong></span>",
    ]
    if suite.count("quarantine"):
        counts.append(f"<span>quarantined: <strong>{suite.count('quarantine')}</strong></span>")
    counts.append(f"<span>passed: <strong>{suite.passed}</strong></span>")
    body = "".join(_expectation_row(e) for e in suite.expectations)
    return (
        f'<h2 id="{_anchor(suite.name)}">{escape(suite.name)} '
        f'<span class="badge {suite.status}">{escape(suite.status)}</span></h2>'
        f'<p class="meta">run at {escape(suite.run_at)}; {suite.partitions} partition(s)'
        f"{escape(rows_text)}</p>"
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
    unexpected = "" if math.isnan(item.unexpected_count) else format_number(
        item.unexpected_count)
    if not math.isnan(item.unexpected_percent):
        unexpected += f" ({format_number(item.unexpected_percent)}%)"
    kwargs = f'<div class="kwargs">{escape(item.kwargs)}</div>' if item.kwargs else ""
    samples = ", ".join(as_text(v) for v in item.samples)
    return (
        f'<tr class="{item.status}">'
        f"<td><code>{escape(item.expectation)}</code>{kwargs}</td>"
        f"<td>{escape(item.column)}</td>"
        f"<td>{escape(item.severity)}</td>"
        f"<td>{escape(failed)}</td>"
        f"<td>{escape(item.observed)}</td>"
        f'<td class="num">{escape(unexpected)}</td>'
        f"<td>{escape(samples)}</td>"
        "</tr>"
    )


def _profiles_section(profiles: pd.DataFrame) -> str:
    """Return one profile table per mart."""
    parts = ["<h2 id=\"profiles\">Profiles</h2>"]
    if profiles.empty:
        parts.append('<p class="meta">No profiles.</p>')
        return "".join(parts)
    marts = profiles["mart"].map(as_text) if "mart" in profiles.columns else pd.Series(
        "", index=profiles.index)
    columns = [c for c in PROFILE_DISPLAY if c in profiles.columns]
    header = "".join(f"<th>{escape(c)}</th>" for c in columns)
    for mart in pd.unique(marts):
        rows = profiles[marts == mart]
        body = "".join(
            "<tr>" + "".join(_profile_cell(c, record.get(c)) for c in columns) + "</tr>"
            for record in rows.to_dict("records")
        )
        parts.append(
            f"<h3>{escape(mart or 'profile')}</h3>"
            f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"
        )
    return "".join(parts)


def _profile_cell(column: str, value: Any) -> str:
    """Return one cell of a profile table."""
    if column == "top_categories":
        return f"<td>{escape(_categories_text(value))}</td>"
    if column == "null_share":
        share = as_number(value)
        text = "" if math.isnan(share) else f"{share:.1%}"
        return f'<td class="num">{escape(text)}</td>'
    if is_missing(value):
        return "<td></td>"
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    ):
        return f'<td class="num">{escape(value)}</td>'
    return f"<td>{escape(value)}</td>"


def _categories_text(value: Any) -> str:
    """Return "basic 41.0%, pro 30.0%" from the JSON text of top categories."""
    text = as_text(value)
    try:
        entries = json.loads(text) if text else []
        return ", ".join(f"{as_text(e['value'])} {float(e['share']):.1%}" for e in entries)
    except (ValueError, TypeError, KeyError):
        return text


def _kwargs_text(value: Any) -> str:
    """Return the settings of an expectation as "name=value, ..." (column and ids left out)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if not isinstance(value, dict):
        return as_text(value)
    shown = {k: v for k, v in sorted(value.items()) if k not in _HIDDEN_KWARGS}
    return ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in shown.items())


def _as_list(value: Any) -> list[Any]:
    """Return unexpected values as a list (from a list, an array, JSON text or a scalar)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple | set):
        return list(value)
    if is_missing(value):
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
        text = as_text(value)
        if text not in seen:
            seen.add(text)
            unique.append(value)
    return unique


def _anchor(name: str) -> str:
    """Return an id attribute value for a suite's section."""
    return "suite-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
