"""The :class:`~mlmodels.engine.base.Table` of a DuckDB relation (dbt-duckdb's refs)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

import pandas as pd
import pyarrow as pa

from mlmodels.engine import arrow_frames
from mlmodels.engine.base import ALIAS, Table
from mlmodels.sql import quote

_NAME = "mlmodels_rel"  # the name a query gives the relation (visible in that query only)
_LEADING_WITH = re.compile(r"with(\s+recursive)?\s", re.IGNORECASE)
_PLAIN_QUERY = re.compile(r"(select|with|\()\s*", re.IGNORECASE)
# a common table expression of that name in the query itself
_OWN_NAME = re.compile(rf"\b{_NAME}\s+as\s+(not\s+)?(materialized\s+)?\(", re.IGNORECASE)


class _Text(NamedTuple):
    """A query as SQL text on a connection, and the relation it started from.

    The relation is kept so that what its text names (a data frame or Arrow table registered on
    the connection) lives as long as the query does.
    """

    connection: Any
    sql: str
    origin: Any


def _as_text(relation: Any) -> _Text | None:
    """Return the connection and SQL text of a relation of duckdb's Python layer, or None.

    duckdb 2 builds relations in Python and binds each derived one when it is made: a gate's
    two dozen small queries spent longer in those binds than in running (0.45 s against 0.2 s
    a demo gate, warm). Run as text on the relation's own connection, each query is parsed and
    bound once, when it runs. duckdb 1's relations (C++) expose no connection, and a relation
    built on one with parameters has markers in its text: both stay relations.
    """
    connection, statement = getattr(relation, "_con", None), getattr(relation, "_statement", None)
    if connection is None or statement is None:
        return None
    sql, values = statement()  # values: the parameters of any relation it is built on
    return None if values else _Text(connection, sql, relation)


def _over(text: _Text, sql: str) -> str | None:
    """Return ``sql`` with ``{rel}`` bound to the query ``text`` (a common table expression).

    A query with its own ``with`` gets the relation as its first common table expression, so
    its order by, if any, stays the statement's own. Not materialized, as duckdb's relations
    write it: ``{rel}`` named twice reads the relation twice, with filters pushed into each.
    None for text that is not a plain query (a leading comment, ``describe``, its own
    ``mlmodels_rel``): that goes through the relation API, as before.
    """
    body = sql.replace(ALIAS, _NAME).strip()
    if not _PLAIN_QUERY.match(body) or _OWN_NAME.search(body):
        return None
    head = f"{_NAME} as not materialized ({text.sql})"
    leading = _LEADING_WITH.match(body)
    if leading:
        return f"{leading.group(0)}{head}, {body[leading.end():]}"
    return f"with {head} {body}"


class DuckDBTable(Table):
    """A DuckDB relation: lazy queries in process, rows streamed as Arrow batches.

    Queries over it are composed as SQL text and run on the relation's connection when their
    rows are read (see :func:`_as_text`); the relation of a query is built only when something
    needs one (streaming, a join, a Parquet file).
    """

    def __init__(self, raw: Any = None, *, text: _Text | None = None):
        self._raw = raw
        self._text = text if text is not None else _as_text(raw)

    @property
    def raw(self) -> Any:
        """The DuckDB relation (built from the query text on first use)."""
        if self._raw is None:
            self._raw = self._text.connection.sql(self._text.sql)
        return self._raw

    @property
    def columns(self) -> list[str]:
        """The column names, in order."""
        return list(self.raw.columns)

    @property
    def types(self) -> list[str]:
        """The column types as DuckDB names them, upper case."""
        return [str(t).upper() for t in self.raw.types]

    def quote(self, identifier: str) -> str:
        """Return ``identifier`` double-quoted."""
        return quote(identifier)

    def query(self, sql: str) -> DuckDBTable:
        """Return the result of ``sql`` over this relation (named ``{rel}`` in it)."""
        composed = _over(self._text, sql) if self._text is not None else None
        if composed is not None:
            return DuckDBTable(text=self._text._replace(sql=composed))
        return DuckDBTable(self.raw.query(_NAME, sql.replace(ALIAS, _NAME)))

    def sample(self, rows: int, seed: int) -> DuckDBTable:
        """Return exactly ``rows`` rows (all when fewer) by seeded reservoir sampling."""
        return self.query(f"select * from {ALIAS} using sample {int(rows)} rows "
                          f"(reservoir, {int(seed)})")

    def anti_join(self, other: Table, keys: list[str]) -> DuckDBTable:
        """Return the rows with no row of ``other`` equal on every one of ``keys``."""
        condition = " and ".join(f"mine.{quote(k)} = theirs.{quote(k)}" for k in keys)
        return DuckDBTable(self.raw.set_alias("mine").join(
            other.raw.set_alias("theirs"), condition, how="anti"))

    def fetchall(self) -> list[tuple]:
        """Return every row as a tuple."""
        if self._text is not None:
            return self._text.connection.execute(self._text.sql).fetchall()
        return self.raw.fetchall()

    def df(self) -> pd.DataFrame:
        """Return the rows as a pandas DataFrame."""
        if self._text is not None:
            return arrow_frames.read_frame(self._text.connection, self._text.sql)
        return self.raw.df()

    def arrow_batches(self, rows: int) -> pa.RecordBatchReader:
        """Return the rows streamed in batches of at most ``rows`` rows (bounded memory)."""
        return self.raw.to_arrow_reader(rows)

    def arrow_schema(self) -> pa.Schema:
        """Return the Arrow schema of the rows."""
        return self.raw.limit(0).to_arrow_table().schema

    def map_batches(self, function: Callable[[pa.RecordBatchReader], pa.RecordBatchReader],
                    schema: pa.Schema, batch_rows: int = 100_000) -> Any:
        """Return ``function`` applied to the rows' batches, here, lazily (a reader)."""
        del schema  # the reader carries it
        return function(self.arrow_batches(batch_rows))

    def write_parquet(self, path: str) -> None:
        """Write the rows to one Parquet file."""
        self.raw.write_parquet(path)
