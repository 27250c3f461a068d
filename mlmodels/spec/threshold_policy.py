"""The decision-threshold policies a spec can name, validated (a leaf: no model code here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

THRESHOLD_POLICIES = ("max_f1", "min_precision", "min_recall", "cost")
COST_KEYS = ("fp", "fn", "tp_value")
_POLICY_HELP = (
    "threshold policy: expected max_f1, {min_precision: x}, {min_recall: x} or "
    "{cost: {fp: .., fn: .., tp_value: ..}} with x in (0, 1] and costs >= 0"
)

Policy = str | dict[str, Any]


def parse_threshold_policy(raw: object) -> Policy:
    """Validate a threshold policy as written in YAML and return its normalised form.

    Parameters
    ----------
    raw
        ``"max_f1"``, ``{"min_precision": x}``, ``{"min_recall": x}`` with ``x`` in (0, 1], or
        ``{"cost": {"fp": a, "fn": b, "tp_value": c}}`` with non-negative numbers
        (``tp_value`` optional).

    Returns
    -------
    str or dict
        ``"max_f1"``, ``{"min_precision": float}``, ``{"min_recall": float}`` or
        ``{"cost": {"fp": float, "fn": float, "tp_value": float}}`` (``tp_value`` defaults to 0).

    Raises
    ------
    ValueError
        If ``raw`` is none of these forms; the message names the expected forms.
    """
    if raw == "max_f1":
        return "max_f1"
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise ValueError(f"{_POLICY_HELP}, got {raw!r}")
    key, value = next(iter(raw.items()))
    if key in ("min_precision", "min_recall"):
        if not _is_number(value) or not 0 < value <= 1:
            raise ValueError(f"{_POLICY_HELP}, got {raw!r} ({key} must be in (0, 1])")
        return {key: float(value)}
    if key == "cost":
        return {"cost": parse_cost(value)}
    raise ValueError(f"{_POLICY_HELP}, got {raw!r}")



def _is_number(value: object) -> bool:
    """Tell whether ``value`` is a real, finite number (bool excluded)."""
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and bool(np.isfinite(value))
    )



def parse_cost(raw: object) -> dict[str, float]:
    """Validate a cost dict and return it with float values and ``tp_value`` defaulted to 0."""
    keys = set(map(str, raw)) if isinstance(raw, Mapping) else set()
    unknown = sorted(keys - set(COST_KEYS))
    missing = [key for key in ("fp", "fn") if key not in keys]
    if not isinstance(raw, Mapping) or unknown or missing:
        raise ValueError(
            f"{_POLICY_HELP}, got cost {raw!r} (unknown keys {unknown}, missing {missing})"
        )
    parsed = {"tp_value": 0.0, **raw}
    for key, value in parsed.items():
        if not _is_number(value) or value < 0:
            raise ValueError(f"{_POLICY_HELP}, got cost {raw!r} ({key} must be >= 0)")
    return {key: float(parsed[key]) for key in COST_KEYS}
