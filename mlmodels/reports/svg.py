"""Inline SVG charts drawn from plain numbers: line charts, bars, axes and legends.

No scripts, fonts or images: a chart is markup, so a page stays one self-contained file.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlmodels.reports.html import (
    NOT_AVAILABLE,
    as_number,
    as_text,
    escape,
    fmt,
    is_missing,
    sorted_unique,
    thinned_indices,
    when_text,
)

PALETTE = ("#0969da", "#bc4c00", "#1a7f37", "#8250df", "#cf222e", "#6e7781")

CHAR_PX = 7.5  # a generous average glyph width of 12px system-ui text, to size label margins


@dataclass
class Series:
    """One line of a chart: (x, y, tooltip) points, a colour and a style."""

    name: str
    points: list[tuple[float, float, str]]
    colour: str
    dashed: bool = False
    markers: bool = False
    width: float = 2.0


@dataclass
class Ref:
    """A horizontal dashed reference line."""

    y: float
    label: str
    colour: str


@dataclass
class Axis:
    """An axis: its label, its domain and its (value, label) ticks."""

    label: str
    lo: float
    hi: float
    ticks: list[tuple[float, str]]


@dataclass
class Frame:
    """The plot area of a chart inside its SVG, mapping data values to pixels."""

    x: Axis
    y: Axis
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
        parts = [f'<text x="{x0}" y="18" font-size="13" font-weight="600">{escape(title)}</text>']
        for value, label in self.y.ticks:
            y = self.py(value)
            parts.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>'
                         f'<text x="{x0 - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                         f'fill="#59636e">{escape(label)}</text>')
        for value, label in self.x.ticks:
            x = self.px(value)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y1}" stroke="#eaeef2"/>')
            if rotate_x:
                parts.append(f'<text x="{x:.1f}" y="{y0 + 14}" font-size="11" text-anchor="end" '
                             f'fill="#59636e" transform="rotate(-35 {x:.1f} {y0 + 14})">'
                             f"{escape(label)}</text>")
            else:
                parts.append(f'<text x="{x:.1f}" y="{y0 + 16}" font-size="11" '
                             f'text-anchor="middle" fill="#59636e">{escape(label)}</text>')
        parts.append(f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" '
                     'fill="none" stroke="#8c959f"/>')
        if self.x.label:
            parts.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{self.height - 6}" font-size="12" '
                         f'text-anchor="middle">{escape(self.x.label)}</text>')
        if self.y.label:
            mid = (y0 + y1) / 2
            parts.append(f'<text x="14" y="{mid:.1f}" font-size="12" text-anchor="middle" '
                         f'transform="rotate(-90 14 {mid:.1f})">{escape(self.y.label)}</text>')
        return parts


def line_chart(
    title: str,
    series: Sequence[Series],
    x: Axis,
    y: Axis,
    refs: Sequence[Ref] = (),
    diagonal: bool = False,
    diagonal_label: str = "",
    rotate_x: bool = False,
    width: int = 420,
) -> str:
    """Return an SVG line chart with an HTML legend below it."""
    # Rotated date labels need more room below the plot; an axis label needs a line more.
    bottom = (70 if rotate_x else 30) + (16 if x.label else 0)
    frame = Frame(x, y, width=width, height=340 if rotate_x else 320, bottom=bottom)
    parts = [svg_open(frame.width, frame.height, title), *frame.axes(title, rotate_x)]
    if diagonal:
        parts.append(f'<line x1="{frame.px(x.lo):.1f}" y1="{frame.py(y.lo):.1f}" '
                     f'x2="{frame.px(x.hi):.1f}" y2="{frame.py(y.hi):.1f}" stroke="#8c959f" '
                     'stroke-dasharray="4 4"/>')
    for ref in refs:
        yy = frame.py(ref.y)
        parts.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{yy:.1f}" '
                     f'y2="{yy:.1f}" stroke="{ref.colour}" stroke-width="1.5" '
                     f'stroke-dasharray="6 4"><title>{escape(ref.label)}</title></line>')
    for s in series:
        parts.append(_polyline(frame, s))
    legend = [(s.name, s.colour, s.dashed) for s in series]
    legend += [(r.label, r.colour, True) for r in refs]
    if diagonal and diagonal_label:
        legend.append((diagonal_label, "#8c959f", True))
    parts.append("</svg>")
    return f'<figure class="chart">{"".join(parts)}{legend_html(legend)}</figure>'


def _polyline(frame: Frame, series: Series) -> str:
    """Return a series as an SVG polyline, with titled markers when asked for."""
    if not series.points:
        return ""
    coords = " ".join(f"{frame.px(x):.1f},{frame.py(y):.1f}" for x, y, _ in series.points)
    dash = ' stroke-dasharray="6 4"' if series.dashed else ""
    line = (f'<polyline points="{coords}" fill="none" stroke="{series.colour}" '
            f'stroke-width="{series.width}"{dash}><title>{escape(series.name)}</title></polyline>')
    parts = [line]
    # A lone point draws no line, so it always gets a marker.
    if series.markers or len(series.points) == 1:
        parts += [f'<circle cx="{frame.px(x):.1f}" cy="{frame.py(y):.1f}" r="3.5" '
                  f'fill="{series.colour}"><title>{escape(f"{series.name}: {tip}")}</title></circle>'
                  for x, y, tip in series.points]
    return "".join(parts)


def dated_chart(
    title: str, series: list[Series], refs: list[Ref], dates: pd.Series
) -> str:
    """Return a line chart over as_of dates (positions are days, labels are the dates)."""
    ys = [p[1] for s in series for p in s.points] + [r.y for r in refs]
    if not ys:
        return f'<p class="na">{escape(NOT_AVAILABLE)}: no values to chart.</p>'
    x = date_axis(sorted_unique(dates))
    return line_chart(title, series, x, value_axis("", ys), refs=refs, rotate_x=True, width=760)


def dated_points(rows: pd.DataFrame, as_of: str, metric: str, kind: str = "score"
                 ) -> list[tuple[float, float, str]]:
    """Return (day, value, tooltip) points of one metric over as_of dates."""
    points = []
    periods = rows["period"] if "period" in rows.columns else pd.Series("", index=rows.index)
    for date, value, period in zip(rows[as_of], rows[metric], periods, strict=True):
        number = as_number(value)
        if not math.isnan(number) and not is_missing(date):
            where = f" ({as_text(period)})" if as_text(period) else ""
            points.append((day_number(date), number, f"{when_text(date)}{where}: {fmt(number, kind)}"))
    return points


def bar_chart(bars: list[tuple[str, float, float]]) -> str:
    """Return horizontal bars (label, value, std) around a zero line, largest first."""
    lows = [min(v - (s if not math.isnan(s) else 0), 0.0) for _, v, s in bars if not math.isnan(v)]
    highs = [max(v + (s if not math.isnan(s) else 0), 0.0) for _, v, s in bars
             if not math.isnan(v)]
    axis = value_axis("importance", [*lows, *highs, 0.0], snap=False)
    label_w = int(16 + CHAR_PX * max(len(label) for label, _, _ in bars))
    row_h, top = 20, 12
    frame = Frame(axis, Axis("", 0, len(bars), []), width=label_w + 560,
                   height=top + row_h * len(bars) + 40, left=label_w, right=24, top=top,
                   bottom=40)
    parts = [svg_open(frame.width, frame.height, "Permutation importance")]
    for value, label in axis.ticks:
        x = frame.px(value)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{frame.height - 40}" '
                     f'stroke="#eaeef2"/><text x="{x:.1f}" y="{frame.height - 24}" '
                     f'font-size="11" text-anchor="middle" fill="#59636e">{escape(label)}</text>')
    zero = frame.px(0.0)
    for i, (label, value, std) in enumerate(bars):
        y = top + row_h * i
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" font-size="12" '
                     f'text-anchor="end">{escape(label)}</text>')
        if math.isnan(value):
            continue
        x0, x1 = sorted((zero, frame.px(value)))
        colour = PALETTE[0] if value >= 0 else PALETTE[5]
        tip = f"{label}: {fmt(value)}" + ("" if math.isnan(std) else f" ± {fmt(std)}")
        parts.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1):.1f}" '
                     f'height="{row_h - 6}" fill="{colour}"><title>{escape(tip)}</title></rect>')
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


def legend_html(items: Sequence[tuple[str, str, bool]]) -> str:
    """Return an HTML legend of (label, colour, dashed) line swatches."""
    spans = "".join(
        f'<span><i class="{"dashed" if dashed else ""}" style="border-color:{colour}"></i>'
        f"{escape(label)}</span>" for label, colour, dashed in items)
    return f'<figcaption class="legend">{spans}</figcaption>' if spans else ""


def svg_open(width: int, height: int, label: str) -> str:
    """Return an opening svg tag of a fixed size with an accessible name."""
    # Inline SVG in HTML needs no xmlns; leaving it out keeps the page free of any URL.
    return (f'<svg width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">')


def value_axis(label: str, values: Sequence[float], snap: bool = True) -> Axis:
    """Return an axis over values, widened to round tick values when ``snap``."""
    finite = [v for v in values if not math.isnan(v) and math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if hi == lo:
        pad = abs(hi) * 0.1 or 0.1
        lo, hi = lo - pad, hi + pad
    else:
        pad = (hi - lo) * 0.05
        lo, hi = (lo - pad if lo != 0 else lo), hi + pad
    ticks = tick_marks(lo, hi)
    if not snap:
        return Axis(label, lo, hi, [t for t in ticks if lo <= t[0] <= hi])
    return Axis(label, min(lo, ticks[0][0]), max(hi, ticks[-1][0]), ticks)


def tick_marks(lo: float, hi: float, count: int = 5) -> list[tuple[float, str]]:
    """Return round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten)."""
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return [(k * step, f"{k * step:.{decimals}f}") for k in range(first, last + 1)]


def date_axis(dates: list[Any]) -> Axis:
    """Return an x axis over dates (in days), padded by half a gap, with thinned date ticks."""
    days = [day_number(d) for d in dates]
    gaps = [b - a for a, b in itertools.pairwise(days) if b > a]
    pad = (min(gaps) / 2) if gaps else 15.0
    keep = thinned_indices(len(dates), 14)
    ticks = [(days[i], when_text(dates[i])) for i in keep]
    return Axis("", min(days) - pad, max(days) + pad, ticks)


def day_number(value: Any) -> float:
    """Return a date as days since the epoch (a plain number as is)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return pd.Timestamp(value).value / 86_400e9
