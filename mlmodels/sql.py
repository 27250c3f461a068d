"""SQL text helpers shared by the layers that build queries (a leaf module)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def quote(identifier: str) -> str:
    """Return ``identifier`` double-quoted, with embedded quotes doubled (ANSI SQL)."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """Return ``value`` as a SQL literal that DuckDB and Spark read alike.

    Dates and times become typed literals (``date '2024-01-31'``), text is single-quoted with
    embedded quotes doubled; ``None`` is ``null``.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        return f"timestamp '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
