"""The :class:`~mlmodels.engine.base.Table` of a DuckDB relation (dbt-duckdb's refs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from mlmodels.engine.base import ALIAS, Table
from mlmodels.sql import quote

_NAME = "mlmodels_rel"  # the name a query gives the relation (visible in that query only)


class DuckDBTable(Table):
    """A DuckDB relation: lazy queries in process, rows streamed as Arrow batches."""

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
        return self.raw.fetchall()

    def df(self) -> pd.DataFrame:
        """Return the rows as a pandas DataFrame."""
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
