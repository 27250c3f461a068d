"""Read the numbers back out of a report's inline SVG charts, as a reader of the chart would.

A chart's axes are recovered from its own grid lines and their tick labels (a line fitted through
the (pixel, value) pairs), and every drawn point is mapped back through them to a data value. A
test then compares those values with the rows the chart was drawn from, so a chart that puts a
point in the wrong place fails, whatever its markup looks like.
"""

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

GRID = "#eaeef2"  # the stroke of the grid lines, each followed by its tick label


def svgs(fragment: str) -> dict[str, ET.Element]:
    """Return the SVG charts of an HTML fragment by their accessible name (aria-label)."""
    found = {}
    for markup in re.findall(r"<svg .*?</svg>", fragment, flags=re.DOTALL):
        svg = ET.fromstring(markup)  # the report's SVG is well-formed XML
        found[svg.get("aria-label")] = svg
    return found


def tick_value(label: str) -> float:
    """Return a tick label as a number: a date as days since the epoch."""
    try:
        return float(label.replace(",", ""))
    except ValueError:
        return pd.Timestamp(label).value / 86_400e9


@dataclass
class Axes:
    """Pixel-to-data maps of one chart, fitted through its tick labels."""

    x: Callable[[float], float]
    y: Callable[[float], float]


def _fit(pairs: list[tuple[float, float]]) -> Callable[[float], float]:
    assert len({p for p, _ in pairs}) >= 2, f"fewer than two ticks to read an axis from: {pairs}"
    slope, intercept = np.polyfit([p for p, _ in pairs], [v for _, v in pairs], 1)
    residual = max(abs(slope * p + intercept - v) for p, v in pairs)
    span = max(v for _, v in pairs) - min(v for _, v in pairs)
    assert residual <= 1e-3 * span, f"the ticks are not on a linear axis: {pairs}"
    return lambda pixel: float(slope * pixel + intercept)


def axes(svg: ET.Element) -> Axes:
    """Return the chart's axes, read from its grid lines (horizontal: y ticks, vertical: x)."""
    children = list(svg)
    xs, ys = [], []
    for line, label in itertools.pairwise(children):
        if line.tag != "line" or line.get("stroke") != GRID or label.tag != "text":
            continue
        if line.get("y1") == line.get("y2"):
            ys.append((float(line.get("y1")), tick_value(label.text)))
        elif line.get("x1") == line.get("x2"):
            xs.append((float(line.get("x1")), tick_value(label.text)))
    return Axes(x=_fit(xs) if len(xs) >= 2 else None, y=_fit(ys) if len(ys) >= 2 else None)


def title(element: ET.Element) -> str | None:
    """Return an element's tooltip (its <title> child's text)."""
    found = element.find("title")
    return None if found is None else found.text


def lines(svg: ET.Element) -> dict[str, list[tuple[float, float]]]:
    """Return each polyline's points in data values, by the series name in its title."""
    read = axes(svg)
    drawn = {}
    for polyline in svg.iter("polyline"):
        points = [tuple(map(float, p.split(","))) for p in polyline.get("points").split()]
        drawn[title(polyline)] = [(read.x(x), read.y(y)) for x, y in points]
    return drawn


def markers(svg: ET.Element) -> list[tuple[float, float, str]]:
    """Return each circle marker as (x, y, tooltip) in data values."""
    read = axes(svg)
    return [(read.x(float(c.get("cx"))), read.y(float(c.get("cy"))), title(c))
            for c in svg.iter("circle")]


def reference_lines(svg: ET.Element) -> dict[str, float]:
    """Return the titled horizontal reference lines as {tooltip: y in data values}."""
    read = axes(svg)
    return {title(line): read.y(float(line.get("y1"))) for line in svg.iter("line")
            if title(line) is not None and line.get("y1") == line.get("y2")}


def day(value) -> float:
    """Return a date as days since the epoch (the charts' x of a date)."""
    return pd.Timestamp(value).value / 86_400e9


@dataclass
class Bar:
    """A titled bar in data values: its horizontal and vertical extent."""

    left: float
    right: float
    top: float | None
    bottom: float | None
    tooltip: str


def bars(svg: ET.Element) -> list[Bar]:
    """Return each titled rectangle (a bar) with its edges mapped to data values."""
    read = axes(svg)
    found = []
    for rect in svg.iter("rect"):
        if title(rect) is None:
            continue
        x, y = float(rect.get("x")), float(rect.get("y"))
        w, h = float(rect.get("width")), float(rect.get("height"))
        found.append(Bar(read.x(x), read.x(x + w), read.y(y) if read.y else None,
                         read.y(y + h) if read.y else None, title(rect)))
    return found
