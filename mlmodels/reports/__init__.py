"""Static HTML pages: the data-quality page and the model page, on one HTML / SVG toolkit.

Depends on :mod:`mlmodels.spec` only (the pages read the warehouse tables, not the code that
wrote them). The pages are imported when first used: a gate writes only the quality page, and
the model page's modules took 20 ms of a gate node's import.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"render_model_report": "model_page", "write_model_report": "model_page",
            "render_report": "quality_page", "write_report": "quality_page"}

__all__ = ["render_model_report", "render_report", "write_model_report", "write_report"]


def __getattr__(name: str) -> Any:
    """Return an exported function, importing its page's module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
